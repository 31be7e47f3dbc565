import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger } from '@moodstream/core';
import { topicNames, type Alert, type ScoredPost } from '@moodstream/events';
import { createRedisTrendsStore, createTrendsService, syntheticScoredPosts, BASELINE_SHARES, trendsConfig, type TrendsService } from '@moodstream/trends';
import { describeAlerts, expectedAlertWindowStart, feed, redisDump, SPIKE_TOPIC, spikeStream, stationaryStream, T0 } from '@moodstream/trends/testing';

const REDIS_URL = process.env['REDIS_URL'];
if (REDIS_URL === undefined) throw new Error('REDIS_URL is not set: run this through `npm test`, which starts Redis and sets it');
const logger = createLogger('test', { level: 'silent' });

describe('trends on a real Redis', () => {
  const redis = new Redis(REDIS_URL);
  const prefix = `test:trends-int:${randomBytes(6).toString('hex')}`;
  const bus = createMemoryBus();
  const services: TrendsService[] = [];

  /** A service fed directly (no consumer): what the aggregator does per batch, minus the bus. */
  const service = async (name: string, config: Record<string, string | number> = {}) => {
    const store = createRedisTrendsStore(redis, { prefix: `${prefix}:${name}` });
    const alerts: Alert[] = [];
    const svc = createTrendsService({ bus, store, logger, config: trendsConfig(config), topics: topicNames(`${name}.`), groupId: name, consume: false });
    svc.on('alert', (a) => alerts.push(a));
    await svc.start();
    services.push(svc);
    return { svc, alerts };
  };

  before(async () => {
    await redis.ping();
  });
  after(async () => {
    for (const svc of services) await svc.stop();
    // Every key of the test is hash-tagged under `{<prefix>:…}` (redis-store.ts).
    const keys = Object.keys(await redisDump(redis, `{${prefix}:`));
    for (let i = 0; i < keys.length; i += 1_000) await redis.unlink(...keys.slice(i, i + 1_000));
    await redis.quit();
    await bus.close();
  });

  it('redelivered events never double count: the same 10,000 events twice give identical aggregates', async () => {
    // 10,000 posts over 5 minutes (inside the allowed lateness, so the second pass must be deduplicated, not dropped).
    const posts: ScoredPost[] = [...syntheticScoredPosts({ start: T0, durationMs: 5 * 60_000, ratePerMinute: 500, topics: ['a', 'b', 'c', 'd'], shares: () => BASELINE_SHARES, seed: 3 })];
    assert.equal(posts.length, 10_000);
    const { svc } = await service('redelivery');
    let first = { added: 0, duplicates: 0, late: 0 };
    await feed(posts, 1_000, async (batch) => {
      const r = await svc.ingest(batch);
      first = { added: first.added + r.added, duplicates: first.duplicates + r.duplicates, late: first.late + r.late };
    });
    assert.deepEqual(first, { added: 20_000, duplicates: 0, late: 0 });
    const aggregates = (dump: Record<string, unknown>) => Object.fromEntries(Object.entries(dump).filter(([key]) => !key.includes(':e:') && !key.endsWith(':state:engine')));
    const before = await redisDump(redis, `{${prefix}:redelivery:`);
    const series = await svc.series({ topic: 'all', window: '1m', from: T0, to: T0 + 5 * 60_000 });

    // Again, in other batch sizes and order.
    let second = { added: 0, duplicates: 0, late: 0 };
    await feed([...posts].reverse(), 777, async (batch) => {
      const r = await svc.ingest(batch);
      second = { added: second.added + r.added, duplicates: second.duplicates + r.duplicates, late: second.late + r.late };
    });
    assert.deepEqual(second, { added: 0, duplicates: 20_000, late: 0 });
    assert.deepEqual(aggregates(await redisDump(redis, `{${prefix}:redelivery:`)), aggregates(before));
    assert.deepEqual(await svc.series({ topic: 'all', window: '1m', from: T0, to: T0 + 5 * 60_000 }), series);
    assert.equal(series.points.reduce((a, p) => a + p.count, 0), 10_000);
  });

  it('example candidates: every example set keeps its best few with their bodies, and every example key expires', async () => {
    // 40 batches over 20 minutes: the 5 m, 1 h and 1 d buckets are offered candidates by every batch once full.
    const posts: ScoredPost[] = [...syntheticScoredPosts({ start: T0, durationMs: 20 * 60_000, ratePerMinute: 250, topics: ['a', 'b'], shares: () => BASELINE_SHARES, seed: 5 })];
    const { svc } = await service('examples', { TRENDS_EXAMPLES_PER_BUCKET: 3 });
    await feed(posts, 250, (batch) => svc.ingest(batch));
    const dump = await redisDump(redis, `{${prefix}:examples:`);
    const sets = Object.keys(dump).filter((key) => key.includes(':e:') && !key.endsWith(':body'));
    assert.ok(sets.length > 100, `only ${sets.length} example sets`);
    for (const key of sets) {
      const members = (await redis.zrange(key, 0, -1)).sort();
      assert.ok(members.length >= 1 && members.length <= 3, `${key} holds ${members.length}`);
      assert.deepEqual((await redis.hkeys(`${key}:body`)).sort(), members, `${key}: bodies are exactly the kept candidates`);
      assert.ok((await redis.pttl(key)) > 0, `${key} has no TTL`);
      assert.ok((await redis.pttl(`${key}:body`)) > 0, `${key}:body has no TTL`);
    }
  });

  it("a 'scared' jump from 5% to 20% for 3 windows on one of 5 topics (1,000 events/min) fires exactly one alert, at the right window", async () => {
    const { svc, alerts } = await service('spike');
    await feed(spikeStream(60), 2_000, (batch) => svc.ingest(batch));
    assert.equal(alerts.length, 1, describeAlerts(alerts));
    assert.equal(alerts[0]?.topic, SPIKE_TOPIC);
    assert.equal(alerts[0]?.emotion, 'scared');
    assert.equal(alerts[0]?.window.start, expectedAlertWindowStart(2));
    assert.deepEqual(await svc.alerts({ limit: 10 }), alerts);
  });

  it('a 6-hour stationary stream at the same rate fires no alert', async () => {
    const { svc, alerts } = await service('stationary');
    const total = await feed(stationaryStream(360), 5_000, (batch) => svc.ingest(batch));
    assert.equal(total, 360_000);
    assert.deepEqual(alerts, [], describeAlerts(alerts));
    const hourly = await svc.series({ topic: 'all', window: '1h', from: T0, to: T0 + 6 * 3_600_000 });
    assert.deepEqual(hourly.points.map((p) => p.count), [60_000, 60_000, 60_000, 60_000, 60_000, 60_000]);
  });
});
