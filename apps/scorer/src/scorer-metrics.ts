import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { FeatureCacheStats } from './feature-cache';

/** Values read when Prometheus scrapes rather than pushed as they change. */
export interface ScrapedSources {
  postsPerSecond(): number;
  cache(): FeatureCacheStats;
  /** null while unknown (not consuming yet, broker unreachable). */
  consumerLag(): Promise<number | null>;
  tensors(): Promise<number | null>;
}

const STAGE_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Every Prometheus series the scorer exports; names carry the unit, as Prometheus asks. */
export function createScorerMetrics(registry: Registry, sources: ScrapedSources) {
  const registers = [registry];
  return {
    batchSize: new Histogram({
      name: 'moodstream_scorer_batch_size',
      help: 'Posts per micro-batch',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    stageSeconds: new Histogram({
      name: 'moodstream_scorer_stage_seconds',
      help: 'Time per micro-batch stage (queue and total are per post)',
      labelNames: ['stage'] as const,
      buckets: STAGE_BUCKETS,
      registers,
    }),
    postsScored: new Counter({
      name: 'moodstream_scorer_posts_scored_total',
      help: 'ScoredPosts produced and acknowledged, by modality used',
      labelNames: ['modality'] as const,
      registers,
    }),
    postsPerSecond: scrapedGauge(registers, 'moodstream_scorer_posts_per_second', 'Posts scored per second over the last 10 s', () => sources.postsPerSecond()),
    imageErrors: new Counter({
      name: 'moodstream_scorer_image_errors_total',
      help: 'Images that could not be used (the post was scored on its text), by reason',
      labelNames: ['code'] as const,
      registers,
    }),
    imagesEmbedded: new Counter({
      name: 'moodstream_scorer_images_embedded_total',
      help: 'Images run through the backbone (feature-cache misses that decoded)',
      registers,
    }),
    deadLetters: new Counter({
      name: 'moodstream_scorer_dead_letters_total',
      help: 'Post records that failed parsing and went to the dead-letter topic',
      registers,
    }),
    cacheLookups: new Counter({
      name: 'moodstream_scorer_feature_cache_lookups_total',
      help: 'Feature-cache lookups per distinct image in a batch: hit by url, hit by content hash, or miss',
      labelNames: ['result'] as const,
      registers,
    }),
    cacheHitRatio: scrapedGauge(registers, 'moodstream_scorer_feature_cache_hit_ratio', 'Feature-cache hits / lookups since start', () => sources.cache().hitRate),
    cacheEntries: scrapedGauge(registers, 'moodstream_scorer_feature_cache_entries', 'Images held in the feature cache', () => sources.cache().entries),
    consumerLag: scrapedGauge(registers, 'moodstream_scorer_consumer_lag', 'Posts not yet consumed by the scorer group', () => sources.consumerLag()),
    backend: new Gauge({
      name: 'moodstream_scorer_backend_info',
      help: 'The tfjs backend and model in use (value 1)',
      labelNames: ['backend', 'model_version', 'backbone', 'workers'] as const,
      registers,
    }),
    tensors: scrapedGauge(registers, 'moodstream_scorer_tensors', 'Live tfjs tensors summed over inference threads', () => sources.tensors()),
  };
}

/** A gauge read from `read` at each scrape; an unknown value (null) keeps the last one rather than reporting 0. */
function scrapedGauge(registers: Registry[], name: string, help: string, read: () => number | null | Promise<number | null>): Gauge {
  return new Gauge({
    name,
    help,
    registers,
    async collect() {
      const value = await read();
      if (value !== null) this.set(value);
    },
  });
}

export type ScorerMetrics = ReturnType<typeof createScorerMetrics>;
