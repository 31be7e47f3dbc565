import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createKafkaBus } from '@moodstream/bus';
import { createLogger, splitList } from '@moodstream/core';
import { topicNames, type Alert } from '@moodstream/events';
import { createRedisTrendsStore, createTrendsService, trendsConfig, type TrendsMetricsHooks, type TrendsService } from '@moodstream/trends';
import { describeAlerts, expectedAlertWindowStart, feed, redisDump, SPIKE_TOPIC, spikeStream, T0 } from '@moodstream/trends/testing';

const brokers = splitList(process.env['KAFKA_BROKERS']);
const REDIS_URL = process.env['REDIS_URL'];
if (brokers.length === 0 || REDIS_URL === undefined) throw new Error('KAFKA_BROKERS and REDIS_URL must be set: run this through `npm test`, which starts both');
const logger = createLogger('test', { level: 'silent' });
/**
 * The scenario's fixed T0 moved to a recent, hour-aligned time: the broker deletes records older than
 * 24 h by their timestamps (log.retention.hours=24), which would remove the stream mid-test.
 */
const SHIFT = Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000 - T0;
const B0 = T0 + SHIFT;

describe('trends aggregator on real Kafka and Redis', () => {
  const suffix = randomBytes(5).toString('hex');
  const topics = topicNames(`test-trends-${suffix}.`);
  const prefix = `test:trends-kafka:${suffix}`;
  const redis = new Redis(REDIS_URL);
  const bus = createKafkaBus({ brokers, clientId: `trends-test-${suffix}`, maxWaitTimeMs: 250 });
  const services: TrendsService[] = [];
  // Lateness covers the whole stream, so a second consumer group re-reading it is deduplicated rather than dropped.
  const config = trendsConfig({ TRENDS_ALLOWED_LATENESS_MS: 3 * 3_600_000, TRENDS_SERIES_PUSH_MS: 0 });
  let produced = 0;

  const start = async (groupId: string, alerts: Alert[], metrics: TrendsMetricsHooks = {}) => {
    const svc = createTrendsService({ bus, store: createRedisTrendsStore(redis, { prefix }), logger, config, topics, groupId, metrics });
    svc.on('alert', (a) => alerts.push(a));
    services.push(svc);
    await svc.start();
    return svc;
  };

  const drained = async (svc: TrendsService, count: () => Promise<number>) => {
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if ((await svc.consumerLag()) === 0 && (await count()) >= produced) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail('the aggregator did not catch up within 90 s');
  };

  before(async () => {
    await bus.ensureTopics([
      { name: topics.scored, partitions: 3 },
      { name: topics.alerts, partitions: 1 },
      { name: topics.deadLetter, partitions: 1 },
    ]);
    const producer = await bus.producer();
    produced = await feed(spikeStream(60), 5_000, (batch) => producer.send(topics.scored, 'ScoredPost', batch.map((p) => ({ key: p.postId, value: { ...p, timestamp: p.timestamp + SHIFT }, timestamp: p.timestamp + SHIFT }))));
    await producer.close();
  });

  after(async () => {
    for (const svc of services) await svc.stop();
    await bus.deleteTopics(Object.values(topics)).catch(() => undefined);
    await bus.close();
    // Every key of the test is hash-tagged under `{<prefix>…` (redis-store.ts).
    const keys = Object.keys(await redisDump(redis, `{${prefix}`));
    for (let i = 0; i < keys.length; i += 1_000) await redis.unlink(...keys.slice(i, i + 1_000));
    await redis.quit();
  });

  it('consumes ScoredPosts, aggregates into Redis, and publishes exactly one alert to the alerts topic', async () => {
    const alerts: Alert[] = [];
    const svc = await start(`trends-a-${suffix}`, alerts);
    const total = async () => (await svc.series({ topic: 'all', window: '1h', from: B0, to: B0 + 3_600_000 })).points[0]?.count ?? 0;
    await drained(svc, total);
    assert.equal(await total(), 60_000);
    assert.equal(alerts.length, 1, describeAlerts(alerts));
    assert.equal(alerts[0]?.topic, SPIKE_TOPIC);
    assert.equal(alerts[0]?.window.start, expectedAlertWindowStart(2) + SHIFT);
    const onBus: Alert[] = [];
    for await (const batch of bus.readByTime({ topic: topics.alerts, eventType: 'Alert', from: 0, to: Date.now() + 60_000 })) onBus.push(...batch.map((r) => r.value));
    assert.deepEqual(onBus, alerts);
  });

  it('a second consumer group re-reading everything (redelivery) changes no aggregate', async () => {
    const aggregates = async () => Object.fromEntries(Object.entries(await redisDump(redis, `{${prefix}:live:`)).filter(([key]) => key.includes('}:b:')));
    const before = await aggregates();
    assert.ok(Object.keys(before).length > 0);
    const alerts: Alert[] = [];
    const seen = { added: 0, duplicates: 0, late: 0 };
    const svc = await start(`trends-b-${suffix}`, alerts, {
      onBatch: (r) => {
        seen.added += r.added;
        seen.duplicates += r.duplicates;
        seen.late += r.late;
      },
    });
    // The new group starts from the beginning: every post × topic comes again.
    const deadline = Date.now() + 90_000;
    while (seen.duplicates < produced * 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seen, { added: 0, duplicates: produced * 2, late: 0 });
    assert.equal(await svc.consumerLag(), 0);
    assert.deepEqual(await aggregates(), before);
    assert.deepEqual(alerts, [], 'windows already evaluated are not evaluated again');
  });

  it('replays the topic from Kafka by timestamp into an isolated namespace and fires the same alert, tagged', async () => {
    const svc = services[0]!;
    const replayAlerts: Alert[] = [];
    svc.on('alert', (a) => {
      if (a.replayId !== null) replayAlerts.push(a);
    });
    const status = await svc.startReplay({ topic: SPIKE_TOPIC, from: B0, to: B0 + 3_600_000, speed: 'max', rescore: false });
    const final = await svc.waitForReplay(status.id);
    assert.equal(final.state, 'done', final.error ?? '');
    assert.equal(final.processed, 12_000);
    assert.equal(replayAlerts.length, 1, describeAlerts(replayAlerts));
    assert.equal(replayAlerts[0]?.replayId, status.id);
    assert.equal(replayAlerts[0]?.window.start, expectedAlertWindowStart(2) + SHIFT);
    const replaySeries = await svc.series({ topic: SPIKE_TOPIC, window: '1h', from: B0, to: B0 + 3_600_000, replay: status.id });
    assert.deepEqual(replaySeries.points.map((p) => p.count), [12_000]);
    const live = await svc.series({ topic: 'all', window: '1h', from: B0, to: B0 + 3_600_000 });
    assert.deepEqual(live.points.map((p) => p.count), [60_000], 'live untouched');
  });
});
