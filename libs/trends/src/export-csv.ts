import { EMOTIONS, type Alert, type SeriesResponse } from '@moodstream/events';

/**
 * What a person takes away from an event for a report: the current view and the alert list as CSV (RFC 4180: comma
 * separated, CRLF line ends, fields quoted when they hold a comma, quote or line break). Text a spreadsheet would run
 * as a formula (a topic typed as `=cmd…`) is prefixed with a quote, the usual defence against CSV injection.
 */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvLines(header: readonly string[], rows: readonly (readonly (string | number | boolean | null)[])[]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

const iso = (ms: number): string => new Date(ms).toISOString();
/** Shares to six decimals: plenty for a share, and the file stays readable. */
const share = (x: number): number => Math.round(x * 1e6) / 1e6;

export const SERIES_CSV_HEADER: readonly string[] = [
  'bucket_start',
  'bucket_start_ms',
  'topic',
  'window',
  'count',
  ...EMOTIONS.flatMap((e) => [`${e}_share`, `${e}_lo`, `${e}_hi`, `${e}_corrected`]),
  'model_version',
];

/** One row per bucket: counts, each emotion's share with its 95% interval and its corrected share, the model version. */
export function seriesCsv(series: SeriesResponse, modelVersion: string | null): string {
  const rows = series.points.map((p) => [
    iso(p.start),
    p.start,
    series.topic,
    series.window,
    p.count,
    ...EMOTIONS.flatMap((e) => [share(p.shares[e].share), share(p.shares[e].lo), share(p.shares[e].hi), p.corrected === null ? null : share(p.corrected[e])]),
    modelVersion,
  ]);
  return csvLines(SERIES_CSV_HEADER, rows);
}

export const ALERTS_CSV_HEADER: readonly string[] = [
  'id',
  'topic',
  'emotion',
  'window',
  'window_start',
  'window_end',
  'observed',
  'expected',
  'effect',
  'effect_lo',
  'effect_hi',
  'count',
  'z',
  'p_value',
  'threshold',
  'fired_at',
  'acknowledged',
  'replay',
];

export function alertsCsv(alerts: readonly Alert[]): string {
  const rows = alerts.map((a) => [
    a.id,
    a.topic,
    a.emotion,
    a.window.size,
    iso(a.window.start),
    iso(a.window.end),
    share(a.observed),
    share(a.expected),
    a.explanation === undefined ? null : share(a.explanation.effect.difference),
    a.explanation === undefined ? null : share(a.explanation.effect.lo),
    a.explanation === undefined ? null : share(a.explanation.effect.hi),
    a.count,
    Math.round(a.statistic * 1000) / 1000,
    a.pValue,
    a.threshold,
    iso(a.firedAt),
    a.acknowledged,
    a.replayId,
  ]);
  return csvLines(ALERTS_CSV_HEADER, rows);
}
