import { z } from 'zod';

/**
 * The aggregation windows and the arithmetic that places a time in one. Pure so that the aggregator (libs/trends)
 * and the browser (apps/dashboard/src/ui) cut time into exactly the same buckets.
 */

export const WindowSizeSchema = z.enum(['1m', '5m', '1h', '1d']);
export type WindowSize = z.infer<typeof WindowSizeSchema>;

/** Every window size, finest first: 1-minute buckets are rolled up into all the others. */
export const WINDOW_SIZES: readonly WindowSize[] = WindowSizeSchema.options;

export const WINDOW_MS: Readonly<Record<WindowSize, number>> = {
  '1m': 60_000,
  '5m': 300_000,
  '1h': 3_600_000,
  '1d': 86_400_000,
};

/** Buckets are aligned to the epoch, so 1 d buckets start at UTC midnight and every bucket nests in the next size. */
export function bucketStart(timestamp: number, size: WindowSize): number {
  const ms = WINDOW_MS[size];
  return Math.floor(timestamp / ms) * ms;
}

/** The bucket starts of `size` covering [from, to). */
export function bucketStarts(from: number, to: number, size: WindowSize): number[] {
  const ms = WINDOW_MS[size];
  const starts: number[] = [];
  for (let start = bucketStart(from, size); start < to; start += ms) starts.push(start);
  return starts;
}

export function bucketCount(from: number, to: number, size: WindowSize): number {
  if (to <= from) return 0;
  const ms = WINDOW_MS[size];
  return Math.ceil((to - bucketStart(from, size)) / ms);
}
