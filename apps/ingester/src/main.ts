import { createKafkaBus } from '@moodstream/bus';
import { ConfigError, createLogger, errorMessage, exitOnFatal, installShutdown, parseConfig, startOpsServer } from '@moodstream/core';
import { TumblrAuthError } from '@moodstream/tumblr';
import { createIngesterApp } from './app';
import { HELP, parseCli } from './cli';
import { IngesterConfigSchema } from './config';

/** The ingester as its own process: `npm run ingest -- <mode> …`. */
async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  if (cli.help) {
    process.stdout.write(HELP);
    return;
  }
  const config = parseConfig(IngesterConfigSchema, process.env, 'ingester');
  if (cli.run.mode !== 'archive' && config.TUMBLR_API_KEY === undefined) {
    throw new ConfigError(`ingester: TUMBLR_API_KEY is required for ${cli.run.mode} (archive needs none)`);
  }
  const logger = createLogger('ingester', { level: config.LOG_LEVEL });
  exitOnFatal(logger);
  const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'moodstream-ingester', topicPrefix: config.MOODSTREAM_TOPIC_PREFIX, logger });
  const app = createIngesterApp({ config, bus, logger, run: cli.run, record: cli.record });
  const ops = await startOpsServer({ registry: app.registry, port: config.METRICS_PORT, health: () => ({ ok: true, detail: app.stats() }) });
  logger.info({ port: ops.port }, 'ingester ops server listening (/metrics, /healthz)');
  // The signal handler and the end of a finite run may both close: once is enough.
  let closing: Promise<void> | null = null;
  const closeAll = (): Promise<void> =>
    (closing ??= (async () => {
      await app.stop();
      await bus.close();
      await ops.close();
    })());
  installShutdown(closeAll, { logger, deadlineMs: 15_000 });
  try {
    await app.start();
    await app.done;
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw error;
  }
  // backfill and archive end by themselves; live ends only through a signal (installShutdown exits).
  await closeAll();
  process.exit(0);
}

main().catch((error: unknown) => {
  // One line, no stack: a bad key or bad arguments are the operator's to fix, and say how.
  const prefix = error instanceof TumblrAuthError ? 'ingester: ' : error instanceof ConfigError ? '' : 'ingester crashed: ';
  process.stderr.write(`${prefix}${errorMessage(error).replace(/\n/g, ' ')}\n`);
  process.exit(1);
});
