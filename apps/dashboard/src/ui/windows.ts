import { WINDOW_MS, bucketStart, type WindowSize } from '@moodstream/events';

/**
 * The time choices the views offer. Window widths and bucket arithmetic come from @moodstream/events, so the page cuts
 * time exactly as the aggregator does.
 */

/** Bucket widths the live view offers (1d exists in the store but is not a useful live resolution). */
export const LIVE_WINDOWS = ['1m', '5m', '1h'] as const satisfies readonly WindowSize[];
export type LiveWindow = (typeof LIVE_WINDOWS)[number];

export const RANGES = ['1h', '24h', '7d'] as const;
export type RangeName = (typeof RANGES)[number];

/** Ranges are whole hours and days, so they are spelt in window widths rather than restated in ms. */
export const RANGE_MS: Readonly<Record<RangeName, number>> = {
  '1h': WINDOW_MS['1h'],
  '24h': WINDOW_MS['1d'],
  '7d': 7 * WINDOW_MS['1d'],
};

/** Past this many buckets a chart is unreadable and slow to draw on a phone. */
export const MAX_BUCKETS = 2_100;

/** The windows that give between 2 and MAX_BUCKETS buckets over the range. */
export function allowedWindows(range: RangeName): LiveWindow[] {
  return LIVE_WINDOWS.filter((w) => {
    const buckets = RANGE_MS[range] / WINDOW_MS[w];
    return buckets >= 2 && buckets <= MAX_BUCKETS;
  });
}

/** Keeps the chosen window when the range allows it, else the finest one that fits. */
export function fitWindow(range: RangeName, window: LiveWindow): LiveWindow {
  const allowed = allowedWindows(range);
  return allowed.includes(window) ? window : (allowed[0] ?? '1h');
}

/** A replay's chart resolution: the finest window giving at most MAX_BUCKETS buckets over its span. */
export function windowForSpan(spanMs: number): LiveWindow {
  for (const w of LIVE_WINDOWS) if (spanMs / WINDOW_MS[w] <= MAX_BUCKETS) return w;
  return '1h';
}

/** A live chart's span: `rangeMs` ending with the bucket now in progress, aligned to bucket edges. */
export function liveSpan(now: number, window: WindowSize, rangeMs: number): { from: number; to: number } {
  const to = bucketStart(now, window) + WINDOW_MS[window];
  return { from: to - rangeMs, to };
}
