import { createLogger, errorMessage, exitOnFatal, installShutdown, parseConfig, startOpsServer } from '@moodstream/core';
import { createStandaloneTrends, standaloneConfigSchema } from '../standalone';

/**
 * The trends aggregator as its own process (distributed mode): ScoredPosts from Kafka into Redis,
 * alerts to Kafka (and the webhook), /metrics and /healthz on the side. `npm run aggregator`.
 */
async function main(): Promise<void> {
  const logger = createLogger('trends');
  exitOnFatal(logger);
  const config = parseConfig(standaloneConfigSchema, process.env, 'trends aggregator');
  const trends = await createStandaloneTrends(config, logger);
  const ops = await startOpsServer({
    registry: trends.registry,
    port: config.TRENDS_METRICS_PORT,
    host: config.TRENDS_METRICS_HOST,
    health: () => ({ ok: trends.service.healthy() && trends.redis.status === 'ready', detail: { watermark: trends.service.watermark(), redis: trends.redis.status } }),
  });
  logger.info({ port: ops.port }, 'trends ops server listening (/metrics, /healthz)');
  installShutdown(
    async () => {
      await trends.close();
      await ops.close();
    },
    { logger, deadlineMs: config.TRENDS_SHUTDOWN_DEADLINE_MS },
  );
  await trends.service.start();
}

main().catch((error: unknown) => {
  process.stderr.write(`trends aggregator failed to start: ${errorMessage(error)}\n`);
  process.exit(1);
});
