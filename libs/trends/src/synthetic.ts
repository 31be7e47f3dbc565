import { gaussian, seededRandom } from '@moodstream/core';
import { argmaxEmotion, type ScoredPost } from '@moodstream/events';

// Re-exported: the dashboard tests and the demo builder seed their streams through libs/trends.
export { seededRandom };

/** Gamma(shape, 1) by Marsaglia–Tsang (with the boost for shape < 1). */
function gamma(shape: number, random: () => number): number {
  if (shape < 1) return gamma(shape + 1, random) * Math.pow(Math.max(random(), 1e-12), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = gaussian(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(Math.max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/**
 * A probability vector drawn from Dirichlet(concentration × shares): its expectation is exactly `shares`,
 * so a stream's mean probability per emotion is the share the test planted.
 */
export function sampleProbabilities(shares: readonly number[], concentration: number, random: () => number): number[] {
  const draws = shares.map((s) => gamma(Math.max(s * concentration, 1e-3), random));
  const total = draws.reduce((a, b) => a + b, 0);
  const probabilities = draws.map((d) => d / total);
  // Round to 6 decimals (what the store keeps) and give the rounding residue to the largest entry.
  const rounded = probabilities.map((p) => Math.round(p * 1e6) / 1e6);
  const residue = 1 - rounded.reduce((a, b) => a + b, 0);
  const largest = rounded.indexOf(Math.max(...rounded));
  rounded[largest] = Math.min(1, Math.max(0, (rounded[largest] ?? 0) + residue));
  return rounded;
}

export interface SyntheticStreamOptions {
  /** Epoch ms of the first post. */
  start: number;
  durationMs: number;
  /** Posts per minute per topic. */
  ratePerMinute: number;
  topics: readonly string[];
  /** Expected share of each emotion (EMOTIONS order) for a topic at a time. */
  shares: (topic: string, timestamp: number) => readonly number[];
  seed?: number;
  /** Dirichlet concentration: higher means posts' probabilities sit closer to the shares. */
  concentration?: number;
  /** Prefix of generated post ids. */
  idPrefix?: string;
  /** Share of posts with an image and an explicit score. */
  imageShare?: number;
}

/** Baseline mood used by the synthetic streams. */
export const BASELINE_SHARES: readonly number[] = [0.35, 0.2, 0.15, 0.15, 0.05, 0.1];

/**
 * Evenly paced ScoredPosts per topic (jittered within their slot), sorted by time.
 * Stands in for the scorer in tests and benchmarks.
 */
export function* syntheticScoredPosts(options: SyntheticStreamOptions): Generator<ScoredPost> {
  const random = seededRandom(options.seed ?? 1);
  const concentration = options.concentration ?? 5;
  const gap = 60_000 / options.ratePerMinute;
  const slots = Math.floor(options.durationMs / gap);
  const idPrefix = options.idPrefix ?? 'syn';
  let serial = 0;
  for (let slot = 0; slot < slots; slot++) {
    const batch: ScoredPost[] = [];
    for (const topic of options.topics) {
      const timestamp = Math.floor(options.start + slot * gap + random() * gap);
      const probabilities = sampleProbabilities(options.shares(topic, timestamp), concentration, random);
      const hasImage = random() < (options.imageShare ?? 0.3);
      batch.push({
        postId: `${idPrefix}-${serial++}`,
        topics: [topic],
        timestamp,
        probabilities,
        topEmotion: argmaxEmotion(probabilities),
        modality: hasImage ? 'both' : 'text',
        explicit: hasImage ? Math.round(random() * 1e3) / 1e3 : null,
        imageError: null,
        label: null,
        modelVersion: 'synthetic',
        latencies: {},
        scoredAt: timestamp,
        text: `synthetic post ${serial} about ${topic}`,
        imageUrl: null,
        url: null,
      });
    }
    batch.sort((a, b) => a.timestamp - b.timestamp);
    yield* batch;
  }
}
