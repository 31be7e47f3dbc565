import { Redis } from 'ioredis';
import { createKafkaBus } from '@moodstream/bus';
import { createLogger, errorMessage, parseCommandLineOrExit, parseConfig } from '@moodstream/core';
import { topicNames } from '@moodstream/events';
import { liveRetention } from '../engine';
import { liveTopicsOf, planWrites } from '../plan';
import { createRedisTrendsStore } from '../redis-store';
import { standaloneConfigSchema } from '../standalone';
import { LIVE_NAMESPACE } from '../store';
import { markRebuilt } from '../store-epoch';

const REBUILD_COMMAND = {
  command: 'npm run trends:rebuild',
  summary: 'rebuild the live trends aggregates in Redis from Kafka',
  usage: '[--keep]',
  options: {
    keep: { type: 'boolean', default: false, description: "do not empty the namespace first: only add what is missing (faster; wrong if post ids' dedupe sets expired, see TRENDS_ALLOWED_LATENESS_MS)" },
  },
  notes: `Reads every ScoredPost on the scored topic from its earliest offset and every Alert on the alerts topic, and
writes them into a clean live namespace: the namespace is emptied first (aggregates, seen post ids, topics,
examples), then filled with the same idempotent writes the aggregator makes, so an aggregator that keeps running
meanwhile counts nothing twice. Use it after Redis lost its data (the aggregator logs "Redis lost the trends
aggregates" and /healthz shows rebuildNeededSince), or after re-scoring the posts with a new model into the
scored topic.

Reads KAFKA_BROKERS, REDIS_URL, MOODSTREAM_TOPIC_PREFIX and the TRENDS_* settings from the environment.
Acknowledgements of alerts are not in Kafka: restored alerts are unacknowledged. Prints one summary line.`,
} as const;

async function main(): Promise<number> {
  const { values: args } = parseCommandLineOrExit(REBUILD_COMMAND);
  const config = parseConfig(standaloneConfigSchema, process.env);
  const logger = createLogger('trends-rebuild', { level: process.env['LOG_LEVEL'] === 'silent' ? 'silent' : 'warn' });
  const started = Date.now();
  const topics = topicNames();
  const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'moodstream-trends-rebuild', topicPrefix: config.MOODSTREAM_TOPIC_PREFIX, logger });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 5 });
  redis.on('error', () => undefined);
  try {
    const store = createRedisTrendsStore(redis, { prefix: config.TRENDS_REDIS_PREFIX });
    if (!args.keep) await store.dropNamespace(LIVE_NAMESPACE);
    const retention = liveRetention(config);
    let records = 0;
    let added = 0;
    let invalid = 0;
    // Up to now: what arrives later is the running aggregator's.
    const to = Date.now() + 1;
    for await (const batch of bus.readByTime({ topic: topics.scored, eventType: 'ScoredPost', from: 0, to, batchSize: 2_000, onInvalid: () => invalid++ })) {
      records += batch.length;
      const plan = planWrites(
        batch.map((record) => record.value),
        { topicsOf: liveTopicsOf, candidatesPerBucket: Math.min(3, retention.examplesPerBucket) },
      );
      const result = await store.apply(LIVE_NAMESPACE, plan, retention);
      added += result.added.reduce((a, b) => a + b, 0);
    }
    let alerts = 0;
    let restored = 0;
    for await (const batch of bus.readByTime({ topic: topics.alerts, eventType: 'Alert', from: 0, to, onInvalid: () => invalid++ })) {
      for (const record of batch) {
        if (record.value.replayId !== null) continue;
        alerts++;
        if (await store.saveAlert(record.value, config.TRENDS_RETENTION_5M_MS)) restored++;
      }
    }
    await markRebuilt(redis, config.TRENDS_REDIS_PREFIX, Date.now());
    process.stdout.write(
      `rebuilt the live trends from ${records} scored records (${added} post×topic counts written, the rest already there or duplicates; ${invalid} invalid records skipped) and ${alerts} alerts (${restored} restored) in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
    );
    return 0;
  } finally {
    await bus.close().catch(() => undefined);
    await redis.quit().catch(() => redis.disconnect());
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`trends:rebuild failed: ${errorMessage(error)}\n`);
    process.exit(1);
  },
);
