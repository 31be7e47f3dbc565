import { EMOTION_COUNT, EMOTIONS, type Emotion } from '@moodstream/events';
import type { SeriesPoint, ShareEstimate } from './api-types';
import { MICRO, type BucketStats } from './bucket';
import { correctedShares, type ConfusionMatrix } from './confusion';
import { Z95 } from './normal';

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

/** Mean calibrated probability of emotion `i` over the bucket's posts. */
export function meanShare(stats: BucketStats, i: number): number {
  return stats.count === 0 ? 0 : (stats.sum[i] ?? 0) / MICRO / stats.count;
}

/**
 * Variance of one post's probability for emotion `i` (sample variance over the bucket).
 * Below two posts there is no sample variance; the Bernoulli bound m(1−m) is the most a [0,1] variable can have.
 */
export function perPostVariance(stats: BucketStats, i: number): number {
  const n = stats.count;
  if (n === 0) return 0;
  const mean = meanShare(stats, i);
  if (n < 2) return mean * (1 - mean);
  const sumSq = (stats.sumSq[i] ?? 0) / MICRO;
  return Math.max(0, (sumSq - n * mean * mean) / (n - 1));
}

/** Share with a 95% normal-approximation interval for the mean, clamped to [0, 1]. */
export function shareEstimate(stats: BucketStats, i: number): ShareEstimate {
  if (stats.count === 0) return { share: 0, lo: 0, hi: 1 };
  const share = clamp01(meanShare(stats, i));
  const halfWidth = Z95 * Math.sqrt(perPostVariance(stats, i) / stats.count);
  return { share, lo: clamp01(share - halfWidth), hi: clamp01(share + halfWidth) };
}

function perEmotion<T>(value: (i: number) => T): Record<Emotion, T> {
  const out = {} as Record<Emotion, T>;
  for (let i = 0; i < EMOTION_COUNT; i++) out[EMOTIONS[i] as Emotion] = value(i);
  return out;
}

export function toSeriesPoint(start: number, stats: BucketStats, confusion: ConfusionMatrix | null): SeriesPoint {
  let corrected: Record<Emotion, number> | null = null;
  if (confusion !== null && stats.count > 0) {
    const observed = stats.top.map((t) => t / stats.count);
    const solved = correctedShares(observed, confusion);
    if (solved !== null) corrected = perEmotion((i) => solved[i] ?? 0);
  }
  return {
    start,
    count: stats.count,
    shares: perEmotion((i) => shareEstimate(stats, i)),
    corrected,
    topCounts: perEmotion((i) => stats.top[i] ?? 0),
    explicitCount: stats.explicit,
  };
}
