import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as wait } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger, systemClock, type MoodstreamError } from '@moodstream/core';
import { topicNames, type ReplayStatus } from '@moodstream/events';
import { createRedisReplayRegistry, createRedisTrendsStore, HEARTBEAT_MS, LEASE_LOST, ReplayManager, trendsConfig } from '@moodstream/trends';
import { redisDump, replayRegistryContract, SPIKE_TOPIC, spikeStream, T0 } from '@moodstream/trends/testing';

const REDIS_URL = process.env['REDIS_URL'];
if (REDIS_URL === undefined) throw new Error('REDIS_URL is not set: run this through `npm test`, which starts Redis and sets it');
const logger = createLogger('test', { level: 'silent' });
const prefix = `test:replay-shared:${randomBytes(6).toString('hex')}`;
const clients: Redis[] = [];

async function dropPrefix(): Promise<void> {
  const redis = new Redis(REDIS_URL!);
  const keys = Object.keys(await redisDump(redis, `{${prefix}`));
  for (let i = 0; i < keys.length; i += 1_000) await redis.unlink(...keys.slice(i, i + 1_000));
  await redis.quit();
}

let contractRun = 0;
replayRegistryContract('redis', async () => {
  const redis = new Redis(REDIS_URL);
  const registry = createRedisReplayRegistry(redis, { prefix: `${prefix}:contract${contractRun++}` });
  return { registry, cleanup: () => redis.quit().then(() => undefined) };
});

describe('replays shared by two instances on a real Redis', () => {
  const topics = topicNames(`replay-shared-${randomBytes(4).toString('hex')}.`);
  const bus = createMemoryBus({ defaultPartitions: 2 });
  const config = trendsConfig({ TRENDS_SERIES_PUSH_MS: 0 });
  const managers: ReplayManager[] = [];
  const history = [...spikeStream(30)].filter((p) => p.topics.includes(SPIKE_TOPIC));

  /** One "instance": its own Redis connection, the shared store and registry under one prefix. */
  const instance = (name: string, leaseMs?: number) => {
    const redis = new Redis(REDIS_URL);
    clients.push(redis);
    const pushed: ReplayStatus[] = [];
    const manager = new ReplayManager({
      bus,
      store: createRedisTrendsStore(redis, { prefix }),
      registry: createRedisReplayRegistry(redis, { prefix }),
      instanceId: name,
      ...(leaseMs === undefined ? {} : { leaseMs }),
      config,
      clock: systemClock,
      logger,
      topics: { scored: topics.scored, posts: topics.posts },
      confusion: null,
      livePairs: () => 0,
      onSeries: () => undefined,
      onAlert: () => undefined,
      onStatus: (status) => pushed.push(status),
    });
    managers.push(manager);
    return { manager, redis, pushed };
  };

  const until = async (what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await wait(50);
    }
  };

  before(async () => {
    const producer = await bus.producer();
    await producer.send(topics.scored, 'ScoredPost', history.map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp })));
    await producer.close();
  });
  after(async () => {
    for (const manager of managers) await manager.stopAll();
    for (const redis of clients) await redis.quit().catch(() => redis.disconnect());
    await bus.close();
    await dropPrefix();
  });

  it('a replay started on A is listed, paused, resumed, read and stopped through B; A runs it to "stopped"', async () => {
    const a = instance('instance-a');
    const b = instance('instance-b');
    // 30 minutes of history at 60× real time: 30 s of playback, far longer than this test steers it.
    const started = await a.manager.start({ topic: SPIKE_TOPIC, from: T0, to: T0 + 30 * 60_000, speed: 60, rescore: false });
    assert.equal(started.startedBy, 'instance-a');
    assert.deepEqual((await b.manager.list()).map((s) => s.id), [started.id]);
    await until('playback to start', async () => ((await b.manager.status(started.id))?.progress ?? 0) > 0.02);

    assert.equal((await b.manager.pause(started.id))?.state, 'paused');
    await wait(2 * HEARTBEAT_MS + 200);
    assert.equal((await a.manager.status(started.id))?.state, 'paused', "A's heartbeat picked the pause up");
    const frozen = (await b.manager.status(started.id))!.cursor;
    await wait(1_000);
    assert.equal((await b.manager.status(started.id))?.cursor, frozen, 'paused on the runner, not only in the registry');
    assert.ok(a.pushed.some((s) => s.id === started.id && s.state === 'paused'), 'the runner pushed the pause to its viewers');

    assert.equal((await b.manager.resume(started.id))?.state, 'running');
    await until('the cursor to move again', async () => ((await b.manager.status(started.id))?.cursor ?? 0) > frozen);

    await b.manager.stop(started.id);
    const final = await b.manager.wait(started.id);
    assert.equal(final.state, 'stopped');
    assert.ok(final.progress > 0 && final.progress < 1, `progress ${final.progress}`);
    assert.equal(final.processed, history.length, 'every record of the range loaded once');
  });

  it('a runner that loses Redis leaves its replay failed once the lease runs out, not running for ever', async () => {
    // A short lease keeps the test quick, but not under a second: heartbeats every 250 ms must survive the event-loop
    // stalls of a loaded CI machine (with 1 s, "the runner to renew its lease" timed out once under load 10–12: most likely
    // the lease ran out before the first renewal; the default lease is 30 s).
    const c = instance('instance-c', 4_000);
    const b = instance('instance-b2');
    const started = await c.manager.start({ topic: SPIKE_TOPIC, from: T0, to: T0 + 30 * 60_000, speed: 1, rescore: false });
    await until('the runner to renew its lease', async () => ((await b.manager.status(started.id))?.processed ?? 0) > 0);
    // The instance goes away as far as everyone else can tell: no heartbeat reaches Redis any more.
    c.redis.disconnect();
    await until('the lease to run out', async () => (await b.manager.status(started.id))?.state === 'failed', 20_000);
    const seen = await b.manager.status(started.id);
    assert.equal(seen?.error, LEASE_LOST);
    await until('the registry to say so', async () => (await createRedisReplayRegistry(b.redis, { prefix }).get(started.id))?.state === 'failed', 5_000);
    await c.manager.stopAll();
  });

  it('the concurrency limits count the replays of both instances', async () => {
    const a = instance('instance-a3');
    const b = instance('instance-b3');
    const request = { topic: SPIKE_TOPIC, from: T0, to: T0 + 30 * 60_000, speed: 1, rescore: false } as const;
    const limits = { perInstance: 1, total: 2 };
    const active = (await a.manager.list()).filter((s) => s.state === 'running' || s.state === 'paused').length;
    assert.equal(active, 0, 'the earlier tests left nothing running');
    await a.manager.start(request, { limits });
    await b.manager.start(request, { limits });
    await assert.rejects(a.manager.start(request, { limits }), (error: MoodstreamError) => error.code === 'TOO_MANY_REQUESTS' && /here \(at most 1\)/.test(error.message));
    await assert.rejects(a.manager.start(request, { limits: { perInstance: 9, total: 2 } }), /across all instances \(at most 2\)/);
    // Concurrent claims from both instances for the last place: exactly one wins.
    const c = instance('instance-c3');
    const d = instance('instance-d3');
    const race = await Promise.allSettled([c.manager.start(request, { limits: { perInstance: 9, total: 3 } }), d.manager.start(request, { limits: { perInstance: 9, total: 3 } })]);
    assert.equal(race.filter((r) => r.status === 'fulfilled').length, 1, 'one of two racing claims for the last place');
  });
});
