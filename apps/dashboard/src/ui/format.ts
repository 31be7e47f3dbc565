import { WINDOW_MS, type WindowSize } from '@moodstream/events';

const LOCALE = 'en-GB';

/** Pass as formatTime's span when a time must carry its date whatever it sits next to. */
export const WITH_DATE = 2 * WINDOW_MS['1d'];

export function formatPercent(share: number, digits = 1): string {
  if (!Number.isFinite(share)) return '–';
  return `${(share * 100).toFixed(digits)}%`;
}

export function formatCount(n: number): string {
  if (n < 10_000) return n.toLocaleString(LOCALE);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Axis and label time: clock time for spans within a day, date and time beyond. */
export function formatTime(ms: number, spanMs: number, timeZone?: string): string {
  const options: Intl.DateTimeFormatOptions =
    spanMs > WINDOW_MS['1d']
      ? { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
      : { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  if (timeZone !== undefined) options.timeZone = timeZone;
  return new Intl.DateTimeFormat(LOCALE, options).format(ms);
}

/** A bucket as a person reads it: "14:05–14:06" or "27 Nov 13:00–14:00". */
export function formatBucket(start: number, window: WindowSize, timeZone?: string): string {
  const span = window === '1h' || window === '1d' ? WITH_DATE : 0;
  return `${formatTime(start, span, timeZone)}–${formatTime(start + WINDOW_MS[window], 0, timeZone)}`;
}

/** "42 s ago", "5 min ago", "3 h ago", "2 d ago". */
export function formatAgo(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} d ago`;
}

/** p-values spread over many orders of magnitude: show the exponent once they get tiny. */
export function formatPValue(p: number): string {
  if (p >= 0.001) return p.toFixed(3);
  if (p === 0) return '< 1e-300';
  return p.toExponential(1);
}

/** Value for <input type="datetime-local"> in the browser's zone. */
export function toDateTimeLocal(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Parses a datetime-local value (browser zone); NaN when empty or invalid. */
export function fromDateTimeLocal(value: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return Number.NaN;
  return new Date(value).getTime();
}
