import { Redis } from 'ioredis';
import { createKafkaBus } from '@moodstream/bus';
import { createLogger, errorMessage, parseCommandLineOrExit, parseConfig, systemClock } from '@moodstream/core';
import { topicNames, type Alert } from '@moodstream/events';
import { alertRulesReader, createRedisAlertRulesStore } from '../alert-rules-store';
import { liveRetention, TrendsEngine } from '../engine';
import { liveTopicsOf, planWrites } from '../plan';
import { createRedisTrendsStore } from '../redis-store';
import { standaloneConfigSchema } from '../standalone';
import { LIVE_NAMESPACE } from '../store';
import { markRebuilt, REBUILT_ENGINE_STATE } from '../store-epoch';

/** A progress line on stderr at most this often on a long rebuild. */
const PROGRESS_MS = 5_000;

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

Then it re-decides the alert windows over the rebuilt history with a fresh detector, oldest first, as a replay
does: windows decided on an emptied store (or on part of their posts) are decided again on all of them. Alert
ids are deterministic, so an alert restored from the alerts topic is not stored twice; one decided now is stored,
marked late (explanation.decidedLate.reason "rebuild") and published on the alerts topic. The alert owner among
the running aggregators takes the re-decided alert state over when it sees the new epoch (within ~5 s).

Reads KAFKA_BROKERS, REDIS_URL, MOODSTREAM_TOPIC_PREFIX and the TRENDS_* settings from the environment.
Acknowledgements of alerts are not in Kafka: restored alerts are unacknowledged. Prints a progress line on
stderr every 5 s and one summary line on stdout.`,
} as const;

async function main(): Promise<number> {
  const { values: args } = parseCommandLineOrExit(REBUILD_COMMAND);
  const config = parseConfig(standaloneConfigSchema, process.env);
  const logger = createLogger('trends-rebuild', { level: process.env['LOG_LEVEL'] === 'silent' ? 'silent' : 'warn' });
  const started = Date.now();
  let lastProgress = started;
  const progress = (line: () => string): void => {
    if (Date.now() - lastProgress < PROGRESS_MS) return;
    lastProgress = Date.now();
    process.stderr.write(`trends:rebuild: ${line()} (${((Date.now() - started) / 1000).toFixed(0)}s)\n`);
  };
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
    // Each topic's oldest post (a re-decided window watches the topics seen by then) and the range of event time.
    const firstSeen = new Map<string, number>();
    let oldest = Infinity;
    let newest = -Infinity;
    // Up to now: what arrives later is the running aggregator's.
    const to = Date.now() + 1;
    for await (const batch of bus.readByTime({ topic: topics.scored, eventType: 'ScoredPost', from: 0, to, batchSize: 2_000, onInvalid: () => invalid++ })) {
      records += batch.length;
      const posts = batch.map((record) => record.value);
      for (const post of posts) {
        if (post.timestamp < oldest) oldest = post.timestamp;
        if (post.timestamp > newest) newest = post.timestamp;
        for (const topic of liveTopicsOf(post)) if (post.timestamp < (firstSeen.get(topic) ?? Infinity)) firstSeen.set(topic, post.timestamp);
      }
      const plan = planWrites(posts, { topicsOf: liveTopicsOf, candidatesPerBucket: Math.min(3, retention.examplesPerBucket) });
      const result = await store.apply(LIVE_NAMESPACE, plan, retention);
      added += result.added.reduce((a, b) => a + b, 0);
      progress(() => `read ${records} scored records, up to ${new Date(newest).toISOString()}`);
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
    const decided = newest < oldest ? null : await redecide(oldest, newest);
    await markRebuilt(redis, config.TRENDS_REDIS_PREFIX, Date.now());
    const windows =
      decided === null
        ? 'no alert windows to re-decide'
        : `${decided.windows} alert windows re-decided (${decided.newAlerts} alerts newly decided and published, ${decided.knownAlerts} already there)`;
    process.stdout.write(
      `rebuilt the live trends from ${records} scored records (${added} post×topic counts written, the rest already there or duplicates; ${invalid} invalid records skipped) and ${alerts} alerts (${restored} restored); ${windows} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
    );
    return 0;

    /** The alert windows over the rebuilt buckets, with the aggregator's settings and rules; new alerts published. */
    async function redecide(from: number, through: number) {
      const producer = await bus.producer();
      try {
        const engine = new TrendsEngine({
          ns: LIVE_NAMESPACE,
          replayId: null,
          store,
          config,
          clock: systemClock,
          logger,
          topicsOf: liveTopicsOf,
          retention,
          stateTtlMs: config.TRENDS_RETENTION_1D_MS,
          confusion: null,
          onSeries: () => undefined,
          // Where the aggregator publishes its alerts: whatever reads the alerts topic hears of these too.
          onAlert: (alert: Alert) => producer.send(topics.alerts, 'Alert', [{ key: `${alert.topic}:${alert.emotion}`, value: alert, timestamp: alert.firedAt }]),
          alertRules: alertRulesReader(createRedisAlertRulesStore(redis, { prefix: config.TRENDS_REDIS_PREFIX })),
        });
        return await engine.redecide(from, through, firstSeen, REBUILT_ENGINE_STATE, (done, total) => progress(() => `re-decided ${done} of ${total} alert windows`));
      } finally {
        await producer.close();
      }
    }
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
