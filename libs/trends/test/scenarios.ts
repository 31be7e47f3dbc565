import type { Alert, ScoredPost } from '@moodstream/events';
import { BASELINE_SHARES, syntheticScoredPosts } from '../src/synthetic';
import { T0 } from './fixtures';

export const SCENARIO_TOPICS = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
export const SPIKE_TOPIC = 'charlie';
export const SCARED = 4;
/** The minute the spike starts, and how many 1-minute windows it lasts. */
export const SPIKE_MINUTE = 40;
export const SPIKE_WINDOWS = 3;

/** Baseline shares with "scared" moved to `scared`, the rest rescaled so they still sum to 1. */
export function sharesWithScared(scared: number): number[] {
  const rest = 1 - (BASELINE_SHARES[SCARED] ?? 0);
  return BASELINE_SHARES.map((share, i) => (i === SCARED ? scared : (share * (1 - scared)) / rest));
}

/**
 * 1,000 posts a minute over five topics (200 each). On SPIKE_TOPIC, "scared" jumps from 5% to 20% for
 * SPIKE_WINDOWS minutes starting at SPIKE_MINUTE; everything else is stationary.
 */
export function spikeStream(minutes = 60, seed = 42): Generator<ScoredPost> {
  const spikeFrom = T0 + SPIKE_MINUTE * 60_000;
  const spikeTo = spikeFrom + SPIKE_WINDOWS * 60_000;
  const baseline = sharesWithScared(0.05);
  const spike = sharesWithScared(0.2);
  return syntheticScoredPosts({
    start: T0,
    durationMs: minutes * 60_000,
    ratePerMinute: 200,
    topics: SCENARIO_TOPICS,
    shares: (topic, t) => (topic === SPIKE_TOPIC && t >= spikeFrom && t < spikeTo ? spike : baseline),
    seed,
    idPrefix: `spike${seed}`,
  });
}

/** The same rate with nothing planted. */
export function stationaryStream(minutes: number, seed = 7): Generator<ScoredPost> {
  const baseline = sharesWithScared(0.05);
  return syntheticScoredPosts({ start: T0, durationMs: minutes * 60_000, ratePerMinute: 200, topics: SCENARIO_TOPICS, shares: () => baseline, seed, idPrefix: `flat${seed}` });
}

/** Feeds a stream in batches of `batchSize`. */
export async function feed(stream: Iterable<ScoredPost>, batchSize: number, ingest: (batch: ScoredPost[]) => Promise<unknown>): Promise<number> {
  let batch: ScoredPost[] = [];
  let total = 0;
  for (const post of stream) {
    batch.push(post);
    if (batch.length >= batchSize) {
      await ingest(batch);
      total += batch.length;
      batch = [];
    }
  }
  if (batch.length > 0) {
    await ingest(batch);
    total += batch.length;
  }
  return total;
}

/** With the default K = 2 the alert fires on the second spike window. */
export function expectedAlertWindowStart(forWindows: number): number {
  return T0 + (SPIKE_MINUTE + forWindows - 1) * 60_000;
}

export function describeAlerts(alerts: Alert[]): string {
  return alerts.map((a) => `${a.topic}/${a.emotion}@${new Date(a.window.start).toISOString()} z=${a.statistic.toFixed(2)}`).join(', ');
}
