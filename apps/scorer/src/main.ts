import { createKafkaBus } from '@moodstream/bus';
import { createLogger, errorMessage, exitOnFatal, installShutdown, parseConfig, startOpsServer } from '@moodstream/core';
import { createScorerApp } from './app';
import { ScorerConfigSchema } from './config';

/** The scorer as its own process: Kafka in, Kafka out, /metrics and /healthz on the side. */
async function main(): Promise<void> {
  const logger = createLogger('scorer');
  exitOnFatal(logger);
  const config = parseConfig(ScorerConfigSchema, process.env, 'scorer');
  const bus = createKafkaBus({
    brokers: config.KAFKA_BROKERS,
    clientId: 'moodstream-scorer',
    topicPrefix: config.MOODSTREAM_TOPIC_PREFIX,
    logger,
  });
  const app = createScorerApp({
    config,
    bus,
    logger,
    onFatal: () => process.exit(1),
  });
  const ops = await startOpsServer({
    registry: app.registry,
    port: config.SCORER_METRICS_PORT,
    host: config.SCORER_METRICS_HOST,
    health: () => {
      const stats = app.stats();
      return { ok: stats.healthy, detail: stats };
    },
  });
  logger.info({ port: ops.port }, 'scorer ops server listening (/metrics, /healthz)');
  installShutdown(
    async () => {
      await app.stop();
      await bus.close();
      await ops.close();
    },
    { logger, deadlineMs: config.SCORER_SHUTDOWN_DEADLINE_MS },
  );
  await app.start();
}

main().catch((error: unknown) => {
  // parseConfig's message already lists every bad variable; print it as is.
  process.stderr.write(`scorer failed to start: ${errorMessage(error)}\n`);
  process.exit(1);
});
