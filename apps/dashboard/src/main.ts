import { Redis } from 'ioredis';
import { z } from 'zod';
import { createKafkaBus } from '@moodstream/bus';
import { distributedEnv, logLevelEnv, runService } from '@moodstream/core';
import { alertRuleDefaults, alertRulesReader, createRedisLiveEventStores, createRedisTrendsStore, createTrendsHost, DEFAULT_TRENDS_GROUP_ID, trendsConfigSchema } from '@moodstream/trends';
import { createDashboardApp } from './app';
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
    redis.on('error', (error: unknown) => logger.warn({ err: error }, 'redis connection error'));
    runtime.onClose('redis', () => redis.quit().then(() => undefined, () => redis.disconnect()));
    await redis.connect();
    const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'moodstream-dashboard', topicPrefix: config.MOODSTREAM_TOPIC_PREFIX, logger });
    runtime.onClose('bus', () => bus.close());
    const aggregate = config.DASHBOARD_AGGREGATE === '1';
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
    });
    await runtime.start('trends', trends);
    const app = await runtime.start('dashboard', createDashboardApp({ config, logger, trends, redis, ops: runtime, liveEvent }));
    const url = app.address()?.url;
    logger.info({ url, aggregate }, `dashboard live at ${url}`);
  },
});
