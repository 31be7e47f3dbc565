import { WINDOW_MS, type WindowSize } from '@moodstream/events';

/** Every window size, finest first: 1-minute buckets are rolled up into all the others. */
export const WINDOW_SIZES: readonly WindowSize[] = ['1m', '5m', '1h', '1d'];

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
