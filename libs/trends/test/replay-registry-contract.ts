import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReplayRegistry } from '../src/replay-registry';
import type { ReplayRecord } from '../src/replay-state';

/** Registry time is what the caller says it is (`now`, `leaseUntil`), so the contract runs on fixed instants. */
const NOW = Date.UTC(2026, 10, 30, 12);
const LEASE = 10_000;
const TTL = 3_600_000;
const NO_LIMIT = { perInstance: Infinity, total: Infinity };

export function replayRecord(id: string, overrides: Partial<ReplayRecord> = {}): ReplayRecord {
  return {
    id,
    topic: 'storm watch',
    from: NOW - 3_600_000,
    to: NOW,
    speed: 60,
    rescore: false,
    modelVersion: null,
    startedBy: 'instance-a',
    state: 'running',
    progress: 0,
    cursor: NOW - 3_600_000,
    processed: 0,
    alerts: 0,
    startedAt: NOW,
    finishedAt: null,
    error: null,
    leaseUntil: NOW + LEASE,
    stopRequested: false,
    ...overrides,
  };
}

/** Runs the same behavioural contract against any ReplayRegistry (memory and Redis). */
export function replayRegistryContract(name: string, make: () => Promise<{ registry: ReplayRegistry; cleanup: () => Promise<void> }>): void {
  const withRegistry = (fn: (registry: ReplayRegistry) => Promise<void>) => async () => {
    const { registry, cleanup } = await make();
    try {
      await fn(registry);
    } finally {
      await cleanup();
    }
  };

  describe(`replay registry contract: ${name}`, () => {
    it('claims a free id once, reads it back as written, lists newest first', withRegistry(async (registry) => {
      const first = replayRecord('rp_1', { speed: 'max', rescore: true, modelVersion: 'v2' });
      assert.deepEqual(await registry.claim(first, NO_LIMIT, NOW, TTL), { ok: true });
      assert.deepEqual(await registry.get('rp_1'), first);
      assert.deepEqual(await registry.claim(replayRecord('rp_1'), NO_LIMIT, NOW, TTL), { ok: false, reason: 'exists' });
      await registry.claim(replayRecord('rp_2', { startedAt: NOW + 5 }), NO_LIMIT, NOW, TTL);
      assert.deepEqual((await registry.list()).map((r) => r.id), ['rp_2', 'rp_1']);
      assert.equal(await registry.get('rp_missing'), null);
    }));

    it('counts running and paused replays with a live lease against both limits, across instances', withRegistry(async (registry) => {
      const limits = { perInstance: 2, total: 3 };
      assert.equal((await registry.claim(replayRecord('a1'), limits, NOW, TTL)).ok, true);
      assert.equal((await registry.claim(replayRecord('a2', { state: 'paused' }), limits, NOW, TTL)).ok, true);
      assert.deepEqual(await registry.claim(replayRecord('a3'), limits, NOW, TTL), { ok: false, reason: 'instance', active: 2 });
      // Another instance has room of its own, up to the total.
      assert.equal((await registry.claim(replayRecord('b1', { startedBy: 'instance-b' }), limits, NOW, TTL)).ok, true);
      assert.deepEqual(await registry.claim(replayRecord('b2', { startedBy: 'instance-b' }), limits, NOW, TTL), { ok: false, reason: 'total', active: 3 });
      // A finished replay and one whose runner's lease ran out free their places.
      await registry.finish('a1', { state: 'done', finishedAt: NOW, error: null, progress: 1, cursor: NOW, processed: 5, alerts: 0 }, TTL);
      assert.equal((await registry.claim(replayRecord('b2', { startedBy: 'instance-b' }), limits, NOW, TTL)).ok, true);
      assert.deepEqual(await registry.claim(replayRecord('c1', { startedBy: 'instance-c' }), limits, NOW, TTL), { ok: false, reason: 'total', active: 3 });
      assert.equal((await registry.claim(replayRecord('c1', { startedBy: 'instance-c' }), limits, NOW + LEASE + 1, TTL)).ok, true, 'the expired leases count no more');
    }));

    it('applies pause, resume and stop as the state machine says, from whichever instance', withRegistry(async (registry) => {
      await registry.claim(replayRecord('rp_c'), NO_LIMIT, NOW, TTL);
      assert.equal((await registry.control('rp_c', 'resume'))?.state, 'running', 'resume of a running replay: no change');
      assert.equal((await registry.control('rp_c', 'pause'))?.state, 'paused');
      assert.equal((await registry.control('rp_c', 'pause'))?.state, 'paused');
      assert.equal((await registry.control('rp_c', 'resume'))?.state, 'running');
      await registry.control('rp_c', 'pause');
      const stopping = await registry.control('rp_c', 'stop');
      assert.deepEqual([stopping?.state, stopping?.stopRequested], ['paused', true], 'the runner ends it; the request is recorded');
      assert.equal((await registry.control('rp_c', 'resume'))?.state, 'paused', 'nothing resumes a replay asked to stop');
      await registry.finish('rp_c', { state: 'stopped', finishedAt: NOW + 1, error: null, progress: 0.5, cursor: NOW - 1_800_000, processed: 9, alerts: 1 }, TTL);
      assert.equal((await registry.control('rp_c', 'pause'))?.state, 'stopped');
      assert.equal(await registry.control('rp_missing', 'stop'), null);
    }));

    it('renews the lease and progress of a live replay only, never its state', withRegistry(async (registry) => {
      await registry.claim(replayRecord('rp_r'), NO_LIMIT, NOW, TTL);
      await registry.control('rp_r', 'pause');
      const progress = { progress: 0.25, cursor: NOW - 2_700_000, processed: 40, alerts: 1 };
      const renewed = await registry.renew('rp_r', progress, NOW + 2 * LEASE);
      assert.deepEqual(renewed, { ...replayRecord('rp_r'), ...progress, state: 'paused', leaseUntil: NOW + 2 * LEASE });
      await registry.finish('rp_r', { state: 'failed', finishedAt: NOW + 3, error: 'boom', ...progress }, TTL);
      const late = await registry.renew('rp_r', { ...progress, processed: 99 }, NOW + 3 * LEASE);
      assert.deepEqual([late?.state, late?.processed, late?.error, late?.leaseUntil], ['failed', 40, 'boom', NOW + 2 * LEASE]);
      assert.equal(await registry.renew('rp_missing', progress, NOW), null);
    }));

    it('marks a replay failed only once its lease ran out while it was live', withRegistry(async (registry) => {
      await registry.claim(replayRecord('rp_l'), NO_LIMIT, NOW, TTL);
      await registry.markLost('rp_l', NOW + LEASE, 'gone');
      assert.equal((await registry.get('rp_l'))?.state, 'running', 'the lease still holds at its last instant');
      await registry.markLost('rp_l', NOW + LEASE + 1, 'gone');
      const lost = await registry.get('rp_l');
      assert.deepEqual([lost?.state, lost?.error, lost?.finishedAt], ['failed', 'gone', NOW + LEASE]);
      await registry.claim(replayRecord('rp_d'), NO_LIMIT, NOW, TTL);
      await registry.finish('rp_d', { state: 'done', finishedAt: NOW + 1, error: null, progress: 1, cursor: NOW, processed: 1, alerts: 0 }, TTL);
      await registry.markLost('rp_d', NOW + 10 * LEASE, 'gone');
      assert.equal((await registry.get('rp_d'))?.state, 'done');
    }));
  });
}
