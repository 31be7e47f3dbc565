import { createKafkaBus, kafkaDependency } from '@moodstream/bus';
import { flagDependency, parseCommandLineOrExit, runService } from '@moodstream/core';
import { createScorerApp } from './app';
import { ScorerConfigSchema } from './config';

// No flags: configured by the environment. --help says so instead of starting a scorer; a flag is refused (exit 2).
parseCommandLineOrExit({
  command: 'npm run scorer',
  summary: 'the scorer as its own process: Posts from Kafka, scored by the image + text model, ScoredPosts to Kafka',
  usage: '',
  options: {},
  notes: "Configured by the environment (KAFKA_BROKERS and SCORER_*: the README's configuration table); /metrics and /healthz on SCORER_METRICS_PORT.",
});

/** The scorer as its own process: Kafka in, Kafka out, /metrics and /healthz on SCORER_METRICS_PORT. */
void runService({
  name: 'scorer',
  config: ScorerConfigSchema,
  ops: (config) => ({ port: config.SCORER_METRICS_PORT, host: config.SCORER_METRICS_HOST }),
  deadlineMs: (config) => config.SCORER_SHUTDOWN_DEADLINE_MS,
  main: async (runtime, config) => {
    const bus = createKafkaBus({
      brokers: config.KAFKA_BROKERS,
      clientId: 'moodstream-scorer',
      topicPrefix: config.MOODSTREAM_TOPIC_PREFIX,
      logger: runtime.logger,
    });
    // Registered first, so it closes last: the scorer still needs it to commit its final batches.
    runtime.onClose('bus', () => bus.close());
    // Readiness (/readyz): the broker answers and the model is loaded (the scorer part's start loads it).
    let modelLoaded = false;
    runtime.dependency('kafka', kafkaDependency(config.KAFKA_BROKERS));
    runtime.dependency('model', flagDependency(() => modelLoaded));
    const app = createScorerApp({ config, bus, logger: runtime.logger, registry: runtime.registry, clock: runtime.clock, onFatal: runtime.crash('scorer') });
    await runtime.start('scorer', app);
    modelLoaded = true;
  },
});
