import { Redis } from 'ioredis';
import { z } from 'zod';
import { createKafkaBus } from '@moodstream/bus';
import { ConfigError, createLogger, errorMessage, exitOnFatal, installShutdown, parseConfig, splitList } from '@moodstream/core';
import { TOPICS } from '@moodstream/events';
import { createRedisTrendsStore, createTrendsHttpHandler, createTrendsService, loadConfusion, trendsConfigSchema } from '@moodstream/trends';
import { createDashboardApp } from './app';
import { DashboardConfigSchema } from './config';
import { createDashboardMetrics } from './metrics';

/**
 * The dashboard as its own process (distributed mode, what docker compose runs): the trends aggregator consuming
 * ScoredPosts from Kafka into Redis, in this process unless DASHBOARD_AGGREGATE=0, and the web server. Several
 * instances may run side by side: they share one consumer group and relay live updates to each other through Redis.
 */
const MainConfigSchema = DashboardConfigSchema.extend({
  KAFKA_BROKERS: z
    .string({ required_error: 'required in the distributed mode (e.g. 127.0.0.1:9092); `npm start` runs without it' })
    .transform(splitList)
    .refine((list) => list.length > 0, { message: 'name at least one broker' }),
  REDIS_URL: z.string({ required_error: 'required in the distributed mode (e.g. redis://127.0.0.1:6379)' }).url(),
  MOODSTREAM_TOPIC_PREFIX: z.string().default(''),
  /** 0: serve only (another process aggregates); replays still run here. */
  DASHBOARD_AGGREGATE: z.enum(['0', '1']).default('1'),
  TRENDS_GROUP_ID: z.string().min(1).default('moodstream-trends'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
});

async function main(): Promise<void> {
  const config = parseConfig(MainConfigSchema, process.env, 'dashboard');
  const trendsConfig = parseConfig(trendsConfigSchema, process.env, 'dashboard (trends settings)');
  const logger = createLogger('dashboard', { level: config.LOG_LEVEL });
  exitOnFatal(logger);

  const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
  redis.on('error', (error: unknown) => logger.warn({ err: error }, 'redis connection error'));
  await redis.connect();
  const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'moodstream-dashboard', topicPrefix: config.MOODSTREAM_TOPIC_PREFIX, logger });
  const confusion = await loadConfusion(trendsConfig.TRENDS_CONFUSION_PATH).catch((error: unknown) => {
    logger.warn({ err: error, path: trendsConfig.TRENDS_CONFUSION_PATH }, 'no confusion matrix: corrected shares will be unavailable');
    return null;
  });
  const metrics = createDashboardMetrics();
  const trends = createTrendsService({
    bus,
    store: createRedisTrendsStore(redis, { prefix: trendsConfig.TRENDS_REDIS_PREFIX }),
    logger: logger.child({ component: 'trends' }),
    config: trendsConfig,
    topics: { scored: TOPICS.scored, alerts: TOPICS.alerts, posts: TOPICS.posts, deadLetter: TOPICS.deadLetter },
    groupId: config.TRENDS_GROUP_ID,
    confusion,
    consume: config.DASHBOARD_AGGREGATE === '1',
    metrics: metrics.trends,
  });
  const app = createDashboardApp({ config, logger, trends, api: createTrendsHttpHandler(trends, { logger }), redis, metrics });

  const closeAll = async (): Promise<void> => {
    // Browsers first (no new queries), then the aggregator (commits its batch), then the connections.
    await app.stop();
    await trends.stop();
    await bus.close();
    await redis.quit().catch(() => redis.disconnect());
  };
  const stopShutdown = installShutdown(closeAll, { logger, deadlineMs: config.SHUTDOWN_DEADLINE_MS });
  // A crashed aggregator consumer does not come back by itself: exit non-zero so the supervisor restarts the process.
  const watchdog = setInterval(() => {
    if (trends.healthy()) return;
    clearInterval(watchdog);
    stopShutdown();
    logger.fatal('the trends consumer crashed: exiting so the process is restarted');
    const deadline = setTimeout(() => process.exit(1), config.SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    closeAll().finally(() => process.exit(1));
  }, 5_000);
  watchdog.unref();
  try {
    await trends.start();
    const { url } = await app.start();
    logger.info({ url, aggregate: config.DASHBOARD_AGGREGATE === '1' }, `dashboard live at ${url}`);
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError ? error.message : `dashboard crashed: ${errorMessage(error)}`}\n`);
  process.exit(1);
});
