import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createKafkaBus, type KafkaBus } from '@moodstream/bus';
import { createLogger, splitList } from '@moodstream/core';
import { topicNames, type Alert } from '@moodstream/events';
import { createRedisTrendsStore, createTrendsService, LIVE_NAMESPACE, trendsConfig, type TrendsService, type TrendsTopics } from '@moodstream/trends';
import { describeAlerts, expectedAlertWindowStart, feed, redisDump, SPIKE_TOPIC, spikeStream, T0 } from '@moodstream/trends/testing';

/**
 * Scale-out: two aggregators in one consumer group against one, on the same 100,000 posts through the real broker
 * into real Redis. The aggregators are in-process hosts, each with its own Kafka client (bus) and its own Redis client,
 * as two processes would have: they share nothing but the broker and Redis. The rule they follow is in
 * libs/trends/src/alert-owner.ts (the holder of partition 0 decides alerts over every partition's positions).
 */
const brokers = splitList(process.env['KAFKA_BROKERS']);
const REDIS_URL = process.env['REDIS_URL'];
if (brokers.length === 0 || REDIS_URL === undefined) throw new Error('KAFKA_BROKERS and REDIS_URL must be set: run this through `npm test`, which starts both');
const logger = createLogger('test', { level: 'silent' });
const SHIFT = Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000 - T0;
const MINUTES = 100;
const STREAM_END = T0 + SHIFT + MINUTES * 60_000;

describe('two aggregators in one consumer group give what one gives (real Kafka, real Redis)', () => {
  const suffix = randomBytes(5).toString('hex');
  const topics = topicNames(`test-scaleout-${suffix}.`);
  const prefix = `test:trends-scaleout:${suffix}`;
  const admin = createKafkaBus({ brokers, clientId: `scaleout-admin-${suffix}`, maxWaitTimeMs: 250 });
  const redis = new Redis(REDIS_URL);
  const running: { svc: TrendsService; bus: KafkaBus; redis: Redis }[] = [];
  // The last windows close on the idle advance: a second of quiet once the group has no lag.
  const config = trendsConfig({ TRENDS_IDLE_WATERMARK_LAG_MS: 1_000, TRENDS_SERIES_PUSH_MS: 0 });
  let produced = 0;

  /** One aggregator: its own bus and Redis client, as a separate process would have. */
  const aggregator = async (name: string, run: string, alerts: Alert[]): Promise<TrendsService> => {
    const bus = createKafkaBus({ brokers, clientId: `scaleout-${name}-${suffix}`, maxWaitTimeMs: 250 });
    const client = new Redis(REDIS_URL);
    // Each run writes alerts to its own topic, so the bus copies can be counted per run.
    const runTopics: TrendsTopics = { ...topics, alerts: `${topics.alerts}.${run}` };
    const svc = createTrendsService({ bus, store: createRedisTrendsStore(client, { prefix: `${prefix}:${run}` }), logger, config, topics: runTopics, groupId: `scaleout-${run}-${suffix}` });
    svc.on('alert', (a) => alerts.push(a));
    running.push({ svc, bus, redis: client });
    await svc.start();
    return svc;
  };

  /** Until every member is caught up, every post is counted and the windows after the stream are decided. */
  const settled = async (members: TrendsService[], run: string): Promise<void> => {
    const store = createRedisTrendsStore(redis, { prefix: `${prefix}:${run}` });
    const deadline = Date.now() + 240_000;
    let last = '';
    while (Date.now() < deadline) {
      const lags = await Promise.all(members.map((m) => m.consumerLag()));
      // The stream may cross midnight: its one or two days of "all".
      const days = await store.readBuckets(LIVE_NAMESPACE, [0, 1].map((d) => ({ topic: 'all', size: '1d' as const, start: (Math.floor((T0 + SHIFT) / 86_400_000) + d) * 86_400_000 })));
      const counted = days.reduce((sum, day) => sum + (day?.count ?? 0), 0);
      const state = JSON.parse((await store.getState(LIVE_NAMESPACE, 'engine')) ?? '{}') as { nextWindow?: number };
      if (lags.every((l) => l === 0) && counted >= produced && (state.nextWindow ?? 0) > STREAM_END + 60_000) return;
      // Said on failure: which of the three conditions never held.
      last = `lags ${lags.join('/')}, counted ${counted} of ${produced}, next window ${state.nextWindow === undefined ? 'none' : `${(state.nextWindow - STREAM_END) / 60_000} min after the stream's end`} (needs > 1)`;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.fail(`run ${run} did not settle within 240 s: ${last}`);
  };

  const dump = async (run: string): Promise<Record<string, unknown>> => {
    const keys = await redisDump(redis, `{${prefix}:${run}:live`);
    // Buckets and the topic index: the aggregates. Examples are a sample of each batch's best (not compared).
    return Object.fromEntries(
      Object.entries(keys)
        .filter(([key]) => key.includes('}:b:') || key.endsWith('}:topics'))
        .map(([key, value]) => [key.replace(`{${prefix}:${run}:`, '{'), value]),
    );
  };

  const decided = (alert: Alert): Omit<Alert, 'firedAt' | 'examplePostIds'> => {
    // firedAt is the wall clock of the decision, examplePostIds a sample of the stored examples: everything else the
    // detector decided must be equal.
    const { firedAt: _firedAt, examplePostIds: _examples, ...rest } = alert;
    return rest;
  };

  before(async () => {
    await admin.ensureTopics([
      { name: topics.scored, partitions: 3 },
      { name: `${topics.alerts}.one`, partitions: 1 },
      { name: `${topics.alerts}.two`, partitions: 1 },
      { name: topics.deadLetter, partitions: 1 },
    ]);
    const producer = await admin.producer();
    // In event-time order, keyed by post id: every partition holds an ordered share of every minute.
    produced = await feed(spikeStream(MINUTES), 5_000, (batch) =>
      producer.send(topics.scored, 'ScoredPost', batch.map((p) => ({ key: p.postId, value: { ...p, timestamp: p.timestamp + SHIFT }, timestamp: p.timestamp + SHIFT }))),
    );
    await producer.close();
    assert.equal(produced, 100_000);
  });

  after(async () => {
    for (const { svc } of running) await svc.stop().catch(() => undefined);
    for (const { bus, redis: client } of running) {
      await bus.close().catch(() => undefined);
      await client.quit().catch(() => undefined);
    }
    await admin.deleteTopics([...Object.values(topics), `${topics.alerts}.one`, `${topics.alerts}.two`]).catch(() => undefined);
    await admin.deleteGroups([`scaleout-one-${suffix}`, `scaleout-two-${suffix}`]).catch(() => undefined);
    await admin.close();
    for (const key of Object.keys(await redisDump(redis, `{${prefix}`))) await redis.unlink(key);
    await redis.quit();
  });

  it('identical aggregates and alert lists; every alert stored and published once', async () => {
    const oneAlerts: Alert[] = [];
    const one = await aggregator('one', 'one', oneAlerts);
    await settled([one], 'one');

    const twoAlerts: Alert[] = [];
    // Started together: the group rebalances while the first member is already consuming (partition 0 may move).
    const [a, b] = await Promise.all([aggregator('two-a', 'two', twoAlerts), aggregator('two-b', 'two', twoAlerts)]);
    await settled([a, b], 'two');

    const oneAggregates = await dump('one');
    assert.ok(Object.keys(oneAggregates).length > 100, 'the single aggregator wrote buckets');
    assert.deepEqual(await dump('two'), oneAggregates);

    // The planted spike, once, at the right window (as with one aggregator: trends-kafka.int.test.ts).
    assert.equal(oneAlerts.length, 1, describeAlerts(oneAlerts));
    assert.equal(oneAlerts[0]?.topic, SPIKE_TOPIC);
    assert.equal(oneAlerts[0]?.window.start, expectedAlertWindowStart(2) + SHIFT);
    const stored = (run: string) => createRedisTrendsStore(redis, { prefix: `${prefix}:${run}` }).listAlerts(LIVE_NAMESPACE, { limit: 100 });
    assert.deepEqual((await stored('two')).map(decided), (await stored('one')).map(decided));
    assert.deepEqual(twoAlerts.map(decided), oneAlerts.map(decided), `two: ${describeAlerts(twoAlerts)} one: ${describeAlerts(oneAlerts)}`);

    // Each alert on the bus once.
    for (const run of ['one', 'two']) {
      const onBus: Alert[] = [];
      for await (const batch of admin.readByTime({ topic: `${topics.alerts}.${run}`, eventType: 'Alert', from: 0, to: Date.now() + 60_000 })) onBus.push(...batch.map((r) => r.value));
      assert.deepEqual(
        onBus.map((x) => x.id),
        oneAlerts.map((x) => x.id),
        `run ${run} published ${onBus.length} alert(s)`,
      );
    }
  });
});
