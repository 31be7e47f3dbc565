import { z } from 'zod';
import { Redis } from 'ioredis';
import { createKafkaBus, type Bus } from '@moodstream/bus';
import { createMetricsRegistry, splitList, type Logger, type Registry } from '@moodstream/core';
import { topicNames, type Post, type ScoredPost } from '@moodstream/events';
import { trendsConfigSchema } from './config';
import { loadConfusion, type ConfusionMatrix } from './confusion';
import { createTrendsMetrics } from './metrics';
import { createRedisTrendsStore } from './redis-store';
import { createTrendsService, type TrendsService } from './service';

/** Settings of the standalone aggregator and the replay CLI: the trends settings plus where Kafka and Redis are. */
export const standaloneConfigSchema = trendsConfigSchema.extend({
  KAFKA_BROKERS: z
    .string({ required_error: 'set KAFKA_BROKERS (host:port[,host:port])' })
    .transform((value) => splitList(value))
    .refine((list) => list.length > 0, { message: 'needs at least one host:port' }),
  REDIS_URL: z.string({ required_error: 'set REDIS_URL (redis://host:port)' }).url(),
  MOODSTREAM_TOPIC_PREFIX: z.string().default(''),
  TRENDS_GROUP_ID: z.string().min(1).default('moodstream-trends'),
  TRENDS_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9464),
  TRENDS_METRICS_HOST: z.string().default('127.0.0.1'),
  TRENDS_SHUTDOWN_DEADLINE_MS: z.coerce.number().int().positive().default(15_000),
});
export type StandaloneConfig = z.infer<typeof standaloneConfigSchema>;

export interface StandaloneTrends {
  service: TrendsService;
  registry: Registry;
  bus: Bus;
  redis: Redis;
  close(): Promise<void>;
}

/** The confusion matrix if the model ships one; corrected shares are simply null otherwise. */
export async function optionalConfusion(path: string, logger: Logger): Promise<ConfusionMatrix | null> {
  try {
    return await loadConfusion(path);
  } catch (error) {
    logger.warn({ path, reason: (error as Error).message }, 'no usable confusion matrix: corrected shares will be null');
    return null;
  }
}

/**
 * Wires Kafka, Redis, the store, metrics and the service from a parsed config (no I/O until `start`).
 * `consume: false` builds a replay-only service (the replay CLI).
 */
export async function createStandaloneTrends(
  config: StandaloneConfig,
  logger: Logger,
  options: { consume?: boolean; rescore?: (posts: Post[]) => Promise<ScoredPost[]>; clientId?: string } = {},
): Promise<StandaloneTrends> {
  const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: options.clientId ?? 'moodstream-trends', topicPrefix: config.MOODSTREAM_TOPIC_PREFIX, logger });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 5, lazyConnect: true });
  await redis.connect();
  const registry = createMetricsRegistry('trends');
  let service: TrendsService | null = null;
  const metrics = createTrendsMetrics(registry, () => service);
  const topics = topicNames();
  service = createTrendsService({
    bus,
    store: createRedisTrendsStore(redis, { prefix: config.TRENDS_REDIS_PREFIX }),
    logger,
    config,
    topics,
    groupId: config.TRENDS_GROUP_ID,
    confusion: await optionalConfusion(config.TRENDS_CONFUSION_PATH, logger),
    metrics,
    consume: options.consume ?? true,
    ...(options.rescore === undefined ? {} : { rescore: options.rescore }),
  });
  const built = service;
  return {
    service: built,
    registry,
    bus,
    redis,
    async close() {
      await built.stop();
      await bus.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
