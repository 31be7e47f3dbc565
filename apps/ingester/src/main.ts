import { createKafkaBus, kafkaDependency } from '@moodstream/bus';
import { ConfigError, EXIT, errorMessage, runService, usageErrorText } from '@moodstream/core';
import { TumblrAuthError } from '@moodstream/tumblr';
import { createIngesterApp } from './app';
import { HELP, INGEST_COMMAND, parseCli, type CliOptions } from './cli';
import { IngesterConfigSchema } from './config';

/**
 * One line for stderr, no stack (the log has the details): a bad key or configuration are the
 * operator's to fix and say how; anything else is named by when it happened (`failed to start`, `crashed`).
 */
function describeError(error: unknown, when = 'failed to start'): string {
  const prefix = error instanceof TumblrAuthError ? 'ingester: ' : error instanceof ConfigError ? '' : `ingester ${when}: `;
  return `${prefix}${errorMessage(error).replace(/\s*\n\s*/g, ' ')}`;
}

/** The ingester as its own process: `npm run ingest -- <mode> …`. */
function main(cli: CliOptions): void {
  void runService({
    name: 'ingester',
    config: IngesterConfigSchema,
    ops: (config) => ({ port: config.METRICS_PORT }),
    deadlineMs: () => 15_000,
    logLevel: (config) => config.LOG_LEVEL,
    describeStartError: (error) => describeError(error),
    main: async (runtime, config) => {
      if (cli.run.mode !== 'archive' && config.TUMBLR_API_KEY === undefined) {
        throw new ConfigError(`ingester: TUMBLR_API_KEY is required for ${cli.run.mode} (archive needs none)`);
      }
      const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'moodstream-ingester', topicPrefix: config.MOODSTREAM_TOPIC_PREFIX, logger: runtime.logger });
      runtime.onClose('bus', () => bus.close());
      runtime.dependency('kafka', kafkaDependency(config.KAFKA_BROKERS));
      const crash = runtime.crash('ingester');
      const app = createIngesterApp({
        config,
        bus,
        logger: runtime.logger,
        registry: runtime.registry,
        clock: runtime.clock,
        run: cli.run,
        record: cli.record,
        onFatal: (error) => {
          // The operator's one line (a key revoked mid-run reads as at start), then the crash policy.
          process.stderr.write(`${describeError(error, 'crashed')}\n`);
          crash(error);
        },
      });
      await runtime.start('ingester', app);
      // backfill and archive end by themselves (exit 0); live ends only through a signal or a failure.
      void app.done.then(() => runtime.finish(), () => undefined);
    },
  });
}

let cli: CliOptions | null = null;
try {
  cli = parseCli(process.argv.slice(2));
} catch (error) {
  // A command line the operator must fix: what is wrong and where to look, exit 2 (see --help's exit status).
  process.stderr.write(usageErrorText(INGEST_COMMAND, errorMessage(error)));
  process.exitCode = EXIT.USAGE;
}
if (cli?.help === true) process.stdout.write(HELP);
else if (cli !== null) main(cli);
