import { gaussian } from '@moodstream/core';
import { EMOTION_COUNT } from '@moodstream/events';
import { emptyStats, MICRO, type BucketStats } from './bucket';

/**
 * Closed alert windows drawn directly as their sufficient statistics (count, Σp, Σp²), for operating-
 * characteristics runs: a day of 2,000 posts per minute for 5 topics is 14 million posts, which the post-level
 * generator (`syntheticScoredPosts`) draws far too slowly to repeat over seeds and scenarios. The window's
 * statistics have the distribution the post-level stream would give them: each post's probability of emotion i
 * is the Beta(c·sᵢ, c·(1−sᵢ)) marginal of Dirichlet(c·s), whose variance is sᵢ(1−sᵢ)/(c+1); the window mean is
 * normal around sᵢ with that variance over n (central limit, n ≥ 30 where the detector tests), and the sample
 * variance is its expectation times a scaled χ²ₙ₋₁ draw (normal approximation).
 */
export interface WindowShareOptions {
  /** Expected share of each emotion in this window (EMOTIONS order, sums to 1). */
  shares: readonly number[];
  /** Posts in the window. */
  count: number;
  /** Dirichlet concentration of the posts' probability vectors (`syntheticScoredPosts` defaults to 5). */
  concentration: number;
}

export function sampleWindowStats(options: WindowShareOptions, random: () => number): BucketStats {
  const stats = emptyStats();
  const n = Math.max(0, Math.round(options.count));
  stats.count = n;
  if (n === 0) return stats;
  for (let i = 0; i < EMOTION_COUNT; i++) {
    const share = options.shares[i] ?? 0;
    const perPost = (share * (1 - share)) / (options.concentration + 1);
    const mean = Math.min(1, Math.max(0, share + Math.sqrt(perPost / n) * gaussian(random)));
    const variance = n < 2 ? 0 : perPost * Math.max(0, 1 + Math.sqrt(2 / (n - 1)) * gaussian(random));
    stats.sum[i] = Math.round(mean * n * MICRO);
    stats.sumSq[i] = Math.round(((n - 1) * variance + n * mean * mean) * MICRO);
  }
  return stats;
}

/** Posts per window at a mean rate: Poisson, by its normal approximation (the bench's rates are ≥ 60). */
export function sampleCount(rate: number, random: () => number): number {
  return Math.max(0, Math.round(rate + Math.sqrt(rate) * gaussian(random)));
}

export interface ShareShape {
  /** Shares without any movement (sum to 1). */
  base: readonly number[];
  /** Relative jitter of every share between windows: sᵢ · (1 + jitter · N(0, 1)). */
  jitter: number;
  /** The emotion whose share `multiplier` scales; the others share what is left in their proportions. */
  focus: number;
  /** Multiplier of the focus emotion's share in this window (diurnal swing, planted shift). */
  multiplier: number;
}

/**
 * The true shares of one window: the focus emotion is set first (base × multiplier × jitter) and the others are
 * rescaled to fill the rest, so a planted "2×" is exactly twice the base share in expectation.
 */
export function windowShares(shape: ShareShape, random: () => number): number[] {
  const jittered = shape.base.map((s) => Math.max(1e-4, s * (1 + shape.jitter * gaussian(random))));
  const focus = Math.min(0.95, (jittered[shape.focus] ?? 0) * shape.multiplier);
  const others = jittered.reduce((sum, s, i) => (i === shape.focus ? sum : sum + s), 0);
  return jittered.map((s, i) => (i === shape.focus ? focus : (s / others) * (1 - focus)));
}
