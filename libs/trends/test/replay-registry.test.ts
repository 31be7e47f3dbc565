import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger, MoodstreamError, VirtualClock } from '@moodstream/core';
import { topicNames, type Post, type ReplayStatus, type ScoredPost } from '@moodstream/events';
import { trendsConfig } from '../src/config';
import { createMemoryTrendsStore } from '../src/memory-store';
import { HEARTBEAT_MS, LEASE_MS, LOAD_BATCH_POSTS, ReplayManager } from '../src/replay';
import { createMemoryReplayRegistry, type ReplayRegistry } from '../src/replay-registry';
import { applyControl, checkClaim, LEASE_LOST, settle } from '../src/replay-state';
import { fixedRescorer } from '../src/rescore-text';
import { T0 } from './fixtures';
import { replayRecord, replayRegistryContract } from './replay-registry-contract';
import { SPIKE_TOPIC, spikeStream } from './scenarios';

const logger = createLogger('test', { level: 'silent' });

replayRegistryContract('memory', async () => ({ registry: createMemoryReplayRegistry(new VirtualClock(0)), cleanup: async () => undefined }));

describe('replay state machine (virtual time)', () => {
  it('shows a live replay failed once its lease has run out, and only then', () => {
    const record = replayRecord('rp_s', { leaseUntil: 1_000 });
    assert.equal(settle(record, 1_000), record);
    assert.deepEqual(settle(record, 1_001), { ...record, state: 'failed', error: LEASE_LOST, finishedAt: 1_000 });
    const done = { ...record, state: 'done' as const };
    assert.equal(settle(done, 99_999), done, 'a finished replay needs no lease');
  });

  it('allows only the transitions of the API: pause ↔ resume while live, stop once, nothing after the end', () => {
    const running = replayRecord('rp_t');
    const paused = applyControl(running, 'pause');
    assert.equal(paused.state, 'paused');
    assert.equal(applyControl(paused, 'pause'), paused);
    assert.equal(applyControl(paused, 'resume').state, 'running');
    const stopping = applyControl(paused, 'stop');
    assert.equal(stopping.stopRequested, true);
    assert.equal(applyControl(stopping, 'resume'), stopping);
    for (const state of ['done', 'stopped', 'failed'] as const) {
      const ended = replayRecord('rp_e', { state });
      for (const action of ['pause', 'resume', 'stop'] as const) assert.equal(applyControl(ended, action), ended);
    }
  });

  it('checks the id first, then the instance limit, then the total', () => {
    const existing = [replayRecord('a'), replayRecord('b', { startedBy: 'other' })];
    assert.deepEqual(checkClaim(existing, replayRecord('a'), { perInstance: 9, total: 9 }, 0), { ok: false, reason: 'exists' });
    assert.deepEqual(checkClaim(existing, replayRecord('c'), { perInstance: 1, total: 1 }, 0), { ok: false, reason: 'instance', active: 1 });
    assert.deepEqual(checkClaim(existing, replayRecord('c'), { perInstance: 2, total: 2 }, 0), { ok: false, reason: 'total', active: 2 });
  });

  it('forgets records their retention after the last write (memory registry)', async () => {
    const clock = new VirtualClock(0);
    const registry = createMemoryReplayRegistry(clock);
    await registry.claim(replayRecord('rp_x'), { perInstance: 1, total: 1 }, 0, 60_000);
    clock.advance(59_999);
    assert.notEqual(await registry.get('rp_x'), null);
    clock.advance(1);
    assert.equal(await registry.get('rp_x'), null);
    assert.deepEqual(await registry.list(), []);
  });
});

/** Lets promise continuations and the memory bus's setImmediate reads run. */
async function settleIo(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** Two "instances": two managers on one bus, one store and one registry, in virtual time. */
async function twoInstances(options: { rescore?: boolean; batchSize?: number } = {}) {
  const clock = new VirtualClock(T0 + 3 * 3_600_000);
  const topics = topicNames(`rr${Math.random().toString(36).slice(2)}.`);
  const bus = createMemoryBus({ defaultPartitions: 2 });
  await bus.ensureTopics([{ name: topics.scored, partitions: 2 }]);
  const producer = await bus.producer();
  const history = [...spikeStream(20)].filter((p) => p.topics.includes(SPIKE_TOPIC));
  await producer.send(topics.scored, 'ScoredPost', history.map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp })));
  const asPost = (p: ScoredPost): Post => ({ id: p.postId, blog: 'b', url: `https://b.example/${p.postId}`, timestamp: p.timestamp, topics: p.topics, tags: [], text: p.text ?? '', imageUrl: null, noteCount: null, source: 'archive', label: null, ingestedAt: p.timestamp });
  await producer.send(topics.posts, 'Post', history.map((p) => ({ key: p.postId, value: asPost(p), timestamp: p.timestamp })));
  await producer.close();
  const byId = new Map(history.map((p) => [p.postId, p]));
  const memory = createMemoryTrendsStore();
  /** Posts of each replay-namespace write (the load phase's batches). */
  const writes: number[] = [];
  const store = new Proxy(memory, {
    get(target, prop, receiver) {
      if (prop !== 'apply') return Reflect.get(target, prop, receiver) as unknown;
      const apply: typeof memory.apply = (ns, plan, retention) => {
        if (ns.startsWith('replay:')) writes.push(new Set(plan.groups.flatMap((group) => group.posts.map((post) => post.postId))).size);
        return target.apply(ns, plan, retention);
      };
      return apply;
    },
  });
  const registry = createMemoryReplayRegistry(clock);
  const pushed: { instance: string; status: ReplayStatus }[] = [];
  const rescored: string[] = [];
  const make = (name: string) =>
    new ReplayManager({
      bus,
      store,
      config: trendsConfig({ TRENDS_SERIES_PUSH_MS: 0, ...(options.batchSize === undefined ? {} : { TRENDS_BATCH_SIZE: options.batchSize }) }),
      clock,
      logger,
      topics: { scored: topics.scored, posts: topics.posts },
      confusion: null,
      registry,
      instanceId: name,
      ...(options.rescore === true
        ? {
            rescorer: {
              ...fixedRescorer(async () => []),
              versions: async () => ['default', 'v7'],
              load: async (version: string) => async (posts) => {
                rescored.push(version);
                return posts.map((post): ScoredPost => ({ ...byId.get(post.id)!, modelVersion: version }));
              },
            },
          }
        : {}),
      livePairs: () => 0,
      onSeries: () => undefined,
      onAlert: () => undefined,
      onStatus: (status) => pushed.push({ instance: name, status }),
    });
  const a = make('instance-a');
  const b = make('instance-b');
  /** Moves virtual time in heartbeat-sized steps, letting the work each step wakes run. */
  const run = async (ms: number): Promise<void> => {
    for (let passed = 0; passed < ms; passed += 100) {
      clock.advance(100);
      await settleIo();
    }
  };
  /** Lets a replay load its history (no time passes while it reads and aggregates). */
  const loaded = async (manager: ReplayManager, id: string): Promise<void> => {
    for (let i = 0; i < 2_000 && ((await manager.status(id))?.processed ?? 0) < history.length; i++) await settleIo();
    await settleIo();
  };
  return { clock, bus, registry, a, b, run, loaded, pushed, rescored, history, writes, close: async () => {
    await a.stopAll();
    await b.stopAll();
    await bus.close();
  } };
}

describe('replays shared by two instances (memory registry, virtual time)', () => {
  it('a replay started on A is read, paused, resumed and stopped through B; A runs it', async () => {
    const { a, b, run, loaded, pushed, close } = await twoInstances();
    try {
      const started = await a.start({ topic: SPIKE_TOPIC, from: T0, to: T0 + 20 * 60_000, speed: 1, rescore: false });
      assert.equal(started.startedBy, 'instance-a');
      await loaded(a, started.id);
      await run(2 * 60_000);
      const seen = await b.status(started.id);
      assert.equal(seen?.state, 'running');
      assert.ok(seen !== null && seen.progress > 0 && seen.cursor > T0, `B sees A's progress: ${JSON.stringify(seen)}`);
      assert.deepEqual((await b.list()).map((s) => s.id), [started.id]);

      const paused = await b.pause(started.id);
      assert.equal(paused?.state, 'paused');
      assert.ok(pushed.some((p) => p.instance === 'instance-b' && p.status.state === 'paused'), 'B pushes the change to its own viewers');
      await run(HEARTBEAT_MS + 100);
      assert.equal((await a.status(started.id))?.state, 'paused', "A's heartbeat picked the pause up");
      const frozen = (await b.status(started.id))!.cursor;
      await run(3 * 60_000);
      assert.equal((await b.status(started.id))?.cursor, frozen, 'paused means paused on the runner');

      assert.equal((await b.resume(started.id))?.state, 'running');
      await run(2 * 60_000);
      assert.ok((await b.status(started.id))!.cursor > frozen, 'resumed');

      const stopping = await b.stop(started.id);
      assert.equal(stopping?.state, 'running', 'a stop is answered at once; the runner ends the replay');
      await run(HEARTBEAT_MS + 100);
      const final = await a.wait(started.id);
      assert.equal(final.state, 'stopped');
      assert.ok(final.progress < 1);
      assert.equal((await b.status(started.id))?.state, 'stopped');
      assert.equal((await b.status('rp_missing')), null);
      assert.equal(await b.pause('rp_missing'), null);
    } finally {
      await close();
    }
  });

  it('loads in batches of up to LOAD_BATCH_POSTS posts however finely the bus cuts its reads', async () => {
    const { a, run, history, writes, close } = await twoInstances({ batchSize: 7 });
    try {
      const started = await a.start({ topic: SPIKE_TOPIC, from: T0, to: T0 + 20 * 60_000, speed: 'max', rescore: false });
      await run(500);
      const final = await a.wait(started.id);
      assert.equal(final.state, 'done', final.error ?? '');
      assert.equal(final.processed, history.length);
      assert.ok(history.length > 7 && history.length <= LOAD_BATCH_POSTS, `the history is several reads and one load batch (${history.length} posts)`);
      assert.deepEqual(writes, [history.length], 'one store write for the whole range');
    } finally {
      await close();
    }
  });

  it('a replay whose runner died shows failed everywhere once its lease runs out, and frees its place', async () => {
    const { clock, registry, b, run, close } = await twoInstances();
    try {
      const now = clock.now();
      await registry.claim(replayRecord('rp_ghost', { startedBy: 'instance-c', startedAt: now, leaseUntil: now + LEASE_MS }), { perInstance: 9, total: 9 }, now, 3_600_000);
      assert.equal((await b.status('rp_ghost'))?.state, 'running');
      const limits = { perInstance: 4, total: 1 };
      await assert.rejects(b.start({ topic: SPIKE_TOPIC, from: T0, to: T0 + 60_000, speed: 'max', rescore: false }, { limits }), (error: MoodstreamError) => {
        assert.equal(error.code, 'TOO_MANY_REQUESTS');
        assert.match(error.message, /across all instances \(at most 1\)/);
        return true;
      });
      await run(LEASE_MS + 100);
      const lost = await b.status('rp_ghost');
      assert.deepEqual([lost?.state, lost?.error], ['failed', LEASE_LOST]);
      await settleIo();
      assert.equal((await registryState(registry, 'rp_ghost')), 'failed', 'marked in the registry, not only shown');
      const next = await b.start({ topic: SPIKE_TOPIC, from: T0, to: T0 + 60_000, speed: 'max', rescore: false }, { limits });
      await run(200);
      assert.equal((await b.wait(next.id)).state, 'done');
    } finally {
      await close();
    }
  });

  it('counts the per-instance limit per instance and the total across both', async () => {
    const { a, b, close } = await twoInstances();
    try {
      const limits = { perInstance: 1, total: 2 };
      const request = { topic: SPIKE_TOPIC, from: T0, to: T0 + 20 * 60_000, speed: 1, rescore: false } as const;
      await a.start(request, { limits });
      await assert.rejects(a.start(request, { limits }), /1 replays are already running or paused here \(at most 1\)/);
      await b.start(request, { limits });
      await assert.rejects(b.start(request, { limits }), /here \(at most 1\)/);
      await assert.rejects(a.start(request, { limits: { perInstance: 5, total: 2 } }), /across all instances \(at most 2\)/);
    } finally {
      await close();
    }
  });

  it('re-scores with the chosen model version, records it, and refuses an unknown one with the known list', async () => {
    const { a, b, run, rescored, history, close } = await twoInstances({ rescore: true });
    try {
      const request = { topic: SPIKE_TOPIC, from: T0, to: T0 + 20 * 60_000, speed: 'max' as const, rescore: true };
      await assert.rejects(a.start({ ...request, modelVersion: 'v9' }), (error: MoodstreamError) => {
        assert.equal(error.code, 'TRENDS_REPLAY_INVALID');
        assert.match(error.message, /unknown model version "v9"; known versions: default, v7/);
        return true;
      });
      await assert.rejects(a.start({ ...request, rescore: false, modelVersion: 'v7' }), /needs `rescore: true`/);
      const started = await a.start({ ...request, modelVersion: 'v7' });
      assert.equal(started.modelVersion, 'v7');
      await run(500);
      const final = await a.wait(started.id);
      assert.equal(final.state, 'done', final.error ?? '');
      assert.equal(final.processed, history.length);
      assert.ok(rescored.length > 0 && rescored.every((v) => v === 'v7'), 'scored by the chosen version');
      assert.equal((await b.status(started.id))?.modelVersion, 'v7', 'recorded on the replay, for every instance');
      const fallback = await a.start(request);
      assert.equal(fallback.modelVersion, 'default', 'no version: the promoted one, else the shipped model');
    } finally {
      await close();
    }
  });
});

async function registryState(registry: ReplayRegistry, id: string): Promise<string | undefined> {
  return (await registry.get(id))?.state;
}
