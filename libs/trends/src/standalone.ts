import { z } from 'zod';
import { Redis } from 'ioredis';
import { createKafkaBus, kafkaDependency } from '@moodstream/bus';
import { distributedEnv, redisDependency, reportOutages, type ServiceRuntime } from '@moodstream/core';
import type { Post, ScoredPost } from '@moodstream/events';
import { trendsConfigSchema } from './config';
import { alertRulesReader, createRedisAlertRulesStore } from './alert-rules-store';
import { createTrendsHost } from './host';
import { createRedisModelVersionStore } from './model-version-store';
import { createRedisTrendsStore } from './redis-store';
import { createRedisReplayRegistry } from './replay-registry-redis';
import { startStoreEpochWatch } from './store-epoch';
import type { TrendsService } from './service';
import type { ReplayRescorer } from './rescore-text';

/** Default ops port of the standalone aggregator (the ingester has 9464, the scorer 9465). */
export const AGGREGATOR_METRICS_PORT = 9466;

/** Settings of the standalone aggregator and the replay CLI: the trends settings plus where Kafka and Redis are. */
export const standaloneConfigSchema = trendsConfigSchema.extend({
  ...distributedEnv,
  TRENDS_GROUP_ID: z.string().min(1).default('moodstream-trends'),
  TRENDS_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(AGGREGATOR_METRICS_PORT),
  TRENDS_METRICS_HOST: z.string().default('127.0.0.1'),
  TRENDS_SHUTDOWN_DEADLINE_MS: z.coerce.number().int().positive().default(15_000),
});
export type StandaloneConfig = z.infer<typeof standaloneConfigSchema>;

export interface StandaloneTrendsOptions {
  /** Kafka client id: the aggregator and the replay CLI show up apart in the broker's logs. */
  clientId: string;
  /** Run the live consumer (default true); the replay CLI runs replays only. */
  consume?: boolean;
  rescore?: (posts: Post[]) => Promise<ScoredPost[]>;
  /** Re-scoring with a chosen model-registry version (the replay CLI's --model-version); takes the place of `rescore`. */
  rescorer?: ReplayRescorer;
}

/**
 * The trends service of a process of its own (the aggregator, the replay CLI): the Kafka bus, the Redis client and
 * the service, each registered with the runtime, so they close in reverse (service, then Redis, then the bus).
 */
export async function startStandaloneTrends(runtime: ServiceRuntime, config: StandaloneConfig, options: StandaloneTrendsOptions): Promise<TrendsService> {
  const { logger } = runtime;
  const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: options.clientId, topicPrefix: config.MOODSTREAM_TOPIC_PREFIX, logger });
  runtime.onClose('bus', () => bus.close());
  runtime.dependency('kafka', kafkaDependency(config.KAFKA_BROKERS));
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 5, lazyConnect: true });
  // ioredis reconnects by itself and reports every failed attempt: one line per outage instead (and its end).
  reportOutages(redis, logger, 'Redis');
  runtime.dependency('redis', redisDependency(redis));
  await runtime.start('redis', {
    start: () => redis.connect(),
    stop: () => redis.quit().then(
      () => undefined,
      () => redis.disconnect(),
    ),
    health: () => ({ ok: redis.status === 'ready', detail: { status: redis.status } }),
  });
  // Only the live aggregator watches for a lost store; the replay CLI does not aggregate live. After a rebuild, the
  // alert owner takes over the alert state the rebuild re-decided (the service is built next, hence the late lookup).
  let trends: TrendsService | null = null;
  if (options.consume ?? true) await startStoreEpochWatch(runtime, redis, config.TRENDS_REDIS_PREFIX, async () => void (await trends?.adoptRebuild()));
  trends = await createTrendsHost({
    bus,
    store: createRedisTrendsStore(redis, { prefix: config.TRENDS_REDIS_PREFIX }),
    config,
    logger,
    registry: runtime.registry,
    groupId: config.TRENDS_GROUP_ID,
    consume: options.consume ?? true,
    clock: runtime.clock,
    onFatal: runtime.crash('trends'),
    // Per-topic alert rules set on a dashboard (the same prefix as the data), read before each alert window.
    alertRules: alertRulesReader(createRedisAlertRulesStore(redis, { prefix: config.TRENDS_REDIS_PREFIX })),
    modelVersions: createRedisModelVersionStore(redis, { prefix: config.TRENDS_REDIS_PREFIX }),
    ...(options.rescore === undefined ? {} : { rescore: options.rescore }),
    ...(options.rescorer === undefined ? {} : { rescorer: options.rescorer }),
    // The replay CLI's replays are listed and steerable on the dashboards sharing this Redis.
    replayRegistry: createRedisReplayRegistry(redis, { prefix: config.TRENDS_REDIS_PREFIX }),
  });
  return runtime.start('trends', trends);
}
