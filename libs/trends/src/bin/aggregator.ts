import { parseCommandLineOrExit, runService } from '@moodstream/core';
import { standaloneConfigSchema, startStandaloneTrends } from '../standalone';

/**
 * The trends aggregator as its own process (distributed mode): ScoredPosts from Kafka into Redis, alerts to Kafka
 * (and the webhook), /metrics and /healthz on TRENDS_METRICS_PORT. `npm run aggregator`.
 */
// No flags: configured by the environment. --help says so instead of starting an aggregator; a flag is refused (exit 2).
parseCommandLineOrExit({
  command: 'npm run aggregator',
  summary: 'the trends aggregator as its own process: ScoredPosts from Kafka into Redis, alerts to Kafka and the webhook',
  usage: '',
  options: {},
  notes: "Configured by the environment (KAFKA_BROKERS, REDIS_URL, TRENDS_*: the README's configuration table); /metrics and /healthz on TRENDS_METRICS_PORT.",
});

void runService({
  name: 'aggregator',
  config: standaloneConfigSchema,
  ops: (config) => ({ port: config.TRENDS_METRICS_PORT, host: config.TRENDS_METRICS_HOST }),
  deadlineMs: (config) => config.TRENDS_SHUTDOWN_DEADLINE_MS,
  main: async (runtime, config) => {
    await startStandaloneTrends(runtime, config, { clientId: 'moodstream-trends' });
  },
});
