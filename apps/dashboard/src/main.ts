import { Redis } from 'ioredis';
import { z } from 'zod';
import { createKafkaBus, kafkaDependency } from '@moodstream/bus';
import { distributedEnv, logLevelEnv, redisDependency, reportOutages, runService } from '@moodstream/core';
import { alertRuleDefaults, alertRulesReader, createRedisLiveEventStores, createRedisReplayRegistry, createRedisModelVersionStore, createRedisTrendsStore, createTrendsHost, createTrendsHttpHandler, DEFAULT_TRENDS_GROUP_ID, registryRescorer, startStoreEpochWatch, trendsConfigSchema, type TrendsService } from '@moodstream/trends';
import { createDashboardApp } from './app';
import { failFastWhileDown } from './trends-port';
import { DashboardConfigSchema } from './config';

/**
 * The dashboard as its own process (distributed mode, what docker compose runs): the trends aggregator consuming
 * ScoredPosts from Kafka into Redis, in this process unless DASHBOARD_AGGREGATE=0, and the web server, which also
 * serves this process's /healthz and /metrics. Several instances may run side by side: they share one consumer
 * group and relay live updates to each other through Redis.
 */
const MainConfigSchema = DashboardConfigSchema.merge(trendsConfigSchema).extend({
  ...distributedEnv,
  ...logLevelEnv,
  /** 0: serve only (another process aggregates); replays still run here. */
  DASHBOARD_AGGREGATE: z.enum(['0', '1']).default('1'),
  TRENDS_GROUP_ID: z.string().min(1).default(DEFAULT_TRENDS_GROUP_ID),
  SHUTDOWN_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
});

// Parts close in reverse: the web server (no new queries), the aggregator (commits its batch), the bus, Redis.
void runService({
  name: 'dashboard',
  config: MainConfigSchema,
  ops: () => null,
  deadlineMs: (config) => config.SHUTDOWN_DEADLINE_MS,
  logLevel: (config) => config.LOG_LEVEL,
  main: async (runtime, config) => {
    const { logger } = runtime;
    const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
    // One line when Redis goes away and one when it is back, not a stack trace per reconnect attempt.
    reportOutages(redis, logger, 'Redis');
    runtime.onClose('redis', () => redis.quit().then(() => undefined, () => redis.disconnect()));
    runtime.dependency('redis', redisDependency(redis));
    runtime.dependency('kafka', kafkaDependency(config.KAFKA_BROKERS));
    await redis.connect();
    const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'moodstream-dashboard', topicPrefix: config.MOODSTREAM_TOPIC_PREFIX, logger });
    runtime.onClose('bus', () => bus.close());
    const aggregate = config.DASHBOARD_AGGREGATE === '1';
    // The instance that aggregates notices when Redis lost the aggregates (trends:rebuild brings them back), and
    // after a rebuild takes over the alert state it re-decided when it decides alerts (the service is built next).
    let host: TrendsService | null = null;
    if (aggregate) await startStoreEpochWatch(runtime, redis, config.TRENDS_REDIS_PREFIX, async () => void (await host?.adoptRebuild()));
    // Watched topics, moments and per-topic alert rules, shared with the other instances and the ingesters.
    const liveEvent = { stores: createRedisLiveEventStores(redis, { prefix: config.TRENDS_REDIS_PREFIX }), alertDefaults: alertRuleDefaults(config) };
    const trends = await createTrendsHost({
      bus,
      store: createRedisTrendsStore(redis, { prefix: config.TRENDS_REDIS_PREFIX }),
      config,
      logger: logger.child({ component: 'trends' }),
      registry: runtime.registry,
      groupId: config.TRENDS_GROUP_ID,
      consume: aggregate,
      onFatal: runtime.crash('trends'),
      alertRules: alertRulesReader(liveEvent.stores.rules),
      // Replays are kept in Redis: any instance lists and steers a replay another one runs.
      replayRegistry: createRedisReplayRegistry(redis, { prefix: config.TRENDS_REDIS_PREFIX }),
      // Re-scoring replays load a model (TensorFlow.js) only when one is asked for.
      rescorer: registryRescorer({ registryDir: config.TRENDS_MODEL_REGISTRY, shippedDir: config.TRENDS_MODEL_DIR }),
      modelVersions: createRedisModelVersionStore(redis, { prefix: config.TRENDS_REDIS_PREFIX }),
    });
    host = trends;
    await runtime.start('trends', trends);
    // During a Redis outage /api answers 503 at once instead of after the client's retries.
    const limits = { maxConcurrentReplays: config.TRENDS_MAX_CONCURRENT_REPLAYS, maxConcurrentReplaysTotal: config.TRENDS_MAX_CONCURRENT_REPLAYS_TOTAL };
    const api = failFastWhileDown(createTrendsHttpHandler(trends, { logger, ...limits }), { name: 'Redis', up: () => redis.status === 'ready' });
    const app = await runtime.start('dashboard', createDashboardApp({ config, logger, trends, api, redis, ops: runtime, liveEvent }));
    const url = app.address()?.url;
    logger.info({ url, aggregate }, `dashboard live at ${url}`);
  },
});
