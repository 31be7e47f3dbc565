import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createKafkaBus } from '@moodstream/bus';
import { createLogger, splitList } from '@moodstream/core';
import { topicNames, type Alert, type ScoredPost } from '@moodstream/events';
import {
  ALL_TOPICS,
  BASELINE_SHARES,
  LIVE_NAMESPACE,
  createMemoryTrendsStore,
  createRedisTrendsStore,
  createStoreEpochWatch,
  epochKey,
  liveRetention,
  liveTopicsOf,
  planWrites,
  rebuildNeededKey,
  syntheticScoredPosts,
  trendsConfig,
  type BucketRef,
} from '@moodstream/trends';
import { redisDump, SCARED, sharesWithScared } from '@moodstream/trends/testing';

/**
 * `npm run trends:rebuild` against real Kafka and Redis: every ScoredPost on the scored topic (each produced twice, as
 * redeliveries do) rebuilt into a damaged live namespace gives exactly the aggregates of counting each post once;
 * running it again changes nothing; the store's epoch is renewed and the rebuild-needed flag cleared.
 */
const brokers = splitList(process.env['KAFKA_BROKERS']);
const REDIS_URL = process.env['REDIS_URL'];
if (brokers.length === 0 || REDIS_URL === undefined) throw new Error('KAFKA_BROKERS and REDIS_URL must be set: run this through `npm test`');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function rebuild(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'libs/trends/src/bin/rebuild.ts'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('npm run trends:rebuild (real Kafka and Redis)', () => {
  const suffix = randomBytes(5).toString('hex');
  const topicPrefix = `test-rebuild-${suffix}.`;
  const redisPrefix = `test:rebuild:${suffix}`;
  const env = { KAFKA_BROKERS: brokers.join(','), REDIS_URL: REDIS_URL!, MOODSTREAM_TOPIC_PREFIX: topicPrefix, TRENDS_REDIS_PREFIX: redisPrefix, LOG_LEVEL: 'warn' };
  const bus = createKafkaBus({ brokers, clientId: `rebuild-${suffix}`, topicPrefix, maxWaitTimeMs: 250 });
  const redis = new Redis(REDIS_URL!);
  const store = createRedisTrendsStore(redis, { prefix: redisPrefix });
  const start = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;
  const topics = ['cats', 'dogs'];
  const posts: ScoredPost[] = [...syntheticScoredPosts({ start, durationMs: 8 * 60_000, ratePerMinute: 50, topics, shares: () => BASELINE_SHARES, seed: 9, idPrefix: suffix })];
  const refs: BucketRef[] = [...topics, ALL_TOPICS].flatMap((topic) => Array.from({ length: 8 }, (_, i) => ({ topic, size: '1m' as const, start: start + i * 60_000 })));

  before(async () => {
    const names = topicNames();
    await bus.ensureTopics([{ name: names.scored, partitions: 3 }, { name: names.alerts }]);
    const producer = await bus.producer();
    const records = posts.map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp }));
    await producer.send(names.scored, 'ScoredPost', [...records, ...records.slice(0, 100)]);
    await producer.close();
  });

  after(async () => {
    await bus.deleteTopics(Object.values(topicNames())).catch(() => undefined);
    await bus.close();
    await store.dropNamespace(LIVE_NAMESPACE).catch(() => undefined);
    await redis.del(epochKey(redisPrefix), rebuildNeededKey(redisPrefix));
    await redis.quit();
  });

  it('rebuilds a damaged namespace to exactly one count per post, idempotently, and renews the epoch', { timeout: 300_000 }, async () => {
    // The truth: each post counted once, by the same plan the aggregator uses, in the memory store.
    const truth = createMemoryTrendsStore();
    const retention = liveRetention(trendsConfig());
    await truth.apply(LIVE_NAMESPACE, planWrites(posts, { topicsOf: liveTopicsOf, candidatesPerBucket: 3 }), retention);
    const expected = await truth.readBuckets(LIVE_NAMESPACE, refs);
    assert.equal(expected.reduce((n, s) => n + (s?.count ?? 0), 0), posts.length * 2, 'every post under its topic and "all"');

    // A damaged store: half the posts counted, then the aggregator noticed the loss.
    await store.apply(LIVE_NAMESPACE, planWrites(posts.slice(0, posts.length / 2), { topicsOf: liveTopicsOf, candidatesPerBucket: 3 }), retention);
    await redis.set(epochKey(redisPrefix), 'old-epoch');
    await redis.set(rebuildNeededKey(redisPrefix), String(Date.now()));

    const first = await rebuild(env);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, new RegExp(`rebuilt the live trends from ${posts.length + 100} scored records`));
    assert.deepEqual(await store.readBuckets(LIVE_NAMESPACE, refs), expected);
    assert.equal(await redis.get(rebuildNeededKey(redisPrefix)), null, 'the flag is cleared');
    const epoch = await redis.get(epochKey(redisPrefix));
    assert.ok(epoch !== null && epoch !== 'old-epoch', 'a new epoch');

    const dump = await redisDump(redis, `{${redisPrefix}`);
    const second = await rebuild(env);
    assert.equal(second.code, 0, second.out);
    assert.deepEqual(await store.readBuckets(LIVE_NAMESPACE, refs), expected, 'running it again counts nothing twice');
    const again = await redisDump(redis, `{${redisPrefix}`);
    assert.deepEqual(Object.keys(again), Object.keys(dump));
  });
});

/**
 * The rebuild re-decides the alert windows (issue 12): a planted spike the live aggregator never decided (its store
 * was flushed) fires once after `npm run trends:rebuild`, stored in Redis, marked as decided by the rebuild and
 * published on the alerts topic; a second rebuild finds it there and decides nothing new.
 */
describe('npm run trends:rebuild re-decides the alert windows (real Kafka and Redis)', () => {
  const suffix = randomBytes(5).toString('hex');
  const topicPrefix = `test-redecide-${suffix}.`;
  const redisPrefix = `test:redecide:${suffix}`;
  const env = { KAFKA_BROKERS: brokers.join(','), REDIS_URL: REDIS_URL!, MOODSTREAM_TOPIC_PREFIX: topicPrefix, TRENDS_REDIS_PREFIX: redisPrefix, LOG_LEVEL: 'warn' };
  const bus = createKafkaBus({ brokers, clientId: `redecide-${suffix}`, topicPrefix, maxWaitTimeMs: 250 });
  const redis = new Redis(REDIS_URL!);
  const store = createRedisTrendsStore(redis, { prefix: redisPrefix });
  const start = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000;
  const spikeFrom = start + 20 * 60_000;
  const spikeTo = spikeFrom + 3 * 60_000;
  const baseline = sharesWithScared(0.05);
  const spike = sharesWithScared(0.25);
  const posts: ScoredPost[] = [
    ...syntheticScoredPosts({
      start,
      durationMs: 30 * 60_000,
      ratePerMinute: 100,
      topics: ['quiet', 'steady', 'storm'],
      shares: (topic, t) => (topic === 'storm' && t >= spikeFrom && t < spikeTo ? spike : baseline),
      seed: 12,
      idPrefix: suffix,
    }),
  ];

  before(async () => {
    const names = topicNames();
    await bus.ensureTopics([{ name: names.scored, partitions: 3 }, { name: names.alerts }]);
    const producer = await bus.producer();
    // In slices: one produce request must stay under the broker's message size.
    for (let i = 0; i < posts.length; i += 1_500) {
      await producer.send(names.scored, 'ScoredPost', posts.slice(i, i + 1_500).map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp })));
    }
    await producer.close();
  });

  after(async () => {
    await bus.deleteTopics(Object.values(topicNames())).catch(() => undefined);
    await bus.close();
    await store.dropNamespace(LIVE_NAMESPACE).catch(() => undefined);
    const alertKeys = await redis.keys(`*${redisPrefix}*`);
    if (alertKeys.length > 0) await redis.del(...alertKeys);
    await redis.quit();
  });

  it('decides the planted alert over the rebuilt history once, publishes it, and leaves the state for the aggregator', { timeout: 300_000 }, async () => {
    assert.equal(SCARED, 4);
    const first = await rebuild(env);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /29 alert windows re-decided \(1 alerts newly decided and published, 0 already there\)/, first.out);
    const stored = await store.listAlerts(LIVE_NAMESPACE, { limit: 10 });
    assert.equal(stored.length, 1, JSON.stringify(stored.map((a) => [a.topic, a.emotion, a.window.start])));
    const [alert] = stored as [Alert];
    assert.equal(alert.topic, 'storm');
    assert.equal(alert.emotion, 'scared');
    assert.equal(alert.window.start, spikeFrom + 60_000, 'the second spike window (2 in a row)');
    assert.equal(alert.late, true);
    assert.equal(alert.explanation?.decidedLate?.reason, 'rebuild');
    // Published where the aggregator publishes.
    const published: Alert[] = [];
    for await (const batch of bus.readByTime({ topic: topicNames().alerts, eventType: 'Alert', from: 0, to: Date.now() + 1 })) published.push(...batch.map((r) => r.value));
    assert.deepEqual(published.map((a) => a.id), [alert.id]);
    // The state a running alert owner takes over on the new epoch.
    const state = JSON.parse((await store.getState(LIVE_NAMESPACE, 'engine:rebuilt')) ?? 'null') as { nextWindow: number; detector: { pairs: Record<string, unknown> } } | null;
    assert.ok(state !== null, 'the re-decided state is saved');
    assert.equal(state.nextWindow, start + 29 * 60_000);
    assert.deepEqual(Object.keys(state.detector.pairs).sort(), ['quiet', 'steady', 'storm']);

    // Again: the alert comes back from the alerts topic (restored or already there), nothing is decided twice. A
    // running aggregator's epoch watch sees the rebuild's new epoch and hands it to the service (adoptRebuild).
    const seen: string[] = [];
    const watch = createStoreEpochWatch({ redis, prefix: redisPrefix, logger: createLogger('test', { level: 'silent' }), onRebuilt: async (epoch) => void seen.push(epoch) });
    await watch.check();
    const second = await rebuild(env);
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /29 alert windows re-decided \(0 alerts newly decided and published, 1 already there\)/, second.out);
    assert.deepEqual((await store.listAlerts(LIVE_NAMESPACE, { limit: 10 })).map((a) => a.id), [alert.id]);
    await watch.check();
    await watch.check();
    assert.deepEqual(seen, [await redis.get(epochKey(redisPrefix))], 'one rebuild seen, once');
  });
});
