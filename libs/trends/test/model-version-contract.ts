import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MAX_VERSIONS_PER_TOPIC, type ModelVersionStore } from '../src/model-version-store';

/**
 * What every ModelVersionStore does (memory in libs/trends/test, Redis in test/model-versions.int.test.ts). The stores
 * `make` returns share one backend, as two aggregators on one Redis do; each test uses topics of its own.
 */
export function modelVersionStoreContract(make: () => ModelVersionStore, T0: number): void {
  it('keeps the first sighting of a (topic, version); a later one changes nothing, even with an earlier time', async () => {
    const store = make();
    assert.deepEqual(await store.record([{ topic: 'cats', version: 'v1', at: T0 }]), [{ topic: 'cats', version: 'v1', at: T0, previous: null }]);
    assert.deepEqual(await store.record([{ topic: 'cats', version: 'v1', at: T0 - 5_000 }]), [], 'already stored: not new');
    assert.deepEqual(await store.record([{ topic: 'cats', version: 'v2', at: T0 + 60_000 }, { topic: 'all', version: 'v2', at: T0 + 60_000 }]), [
      { topic: 'cats', version: 'v2', at: T0 + 60_000, previous: 'v1' },
      { topic: 'all', version: 'v2', at: T0 + 60_000, previous: null },
    ]);
    assert.deepEqual(await store.list({ topic: 'cats', from: 0, to: T0 + 3_600_000 }), [
      { topic: 'cats', version: 'v1', at: T0, previous: null },
      { topic: 'cats', version: 'v2', at: T0 + 60_000, previous: 'v1' },
    ]);
  });

  it('lists one topic in [from, to), oldest first, each version with the one before it', async () => {
    const store = make();
    await store.record([
      { topic: 'dogs', version: 'c', at: T0 + 120_000 },
      { topic: 'dogs', version: 'a', at: T0 },
      { topic: 'dogs', version: 'b', at: T0 + 60_000 },
      { topic: 'birds', version: 'z', at: T0 + 60_000 },
    ]);
    assert.deepEqual(
      (await store.list({ topic: 'dogs', from: T0 + 60_000, to: T0 + 120_000 })).map((c) => [c.version, c.previous]),
      [['b', 'a']],
      'from inclusive, to exclusive; previous is known even when it is outside the range',
    );
    assert.deepEqual((await store.list({ topic: 'fish', from: 0, to: T0 * 2 })).length, 0);
  });

  it('two writers recording the same new pair: exactly one of them gets it back (one announcement)', async () => {
    const a = make();
    const b = make();
    const [fromA, fromB] = await Promise.all([a.record([{ topic: 'owls', version: 'v9', at: T0 }]), b.record([{ topic: 'owls', version: 'v9', at: T0 + 1 }])]);
    assert.equal(fromA.length + fromB.length, 1);
    assert.equal((await a.list({ topic: 'owls', from: 0, to: T0 * 2 })).length, 1);
  });

  it(`keeps at most ${MAX_VERSIONS_PER_TOPIC} versions per topic, dropping the oldest`, async () => {
    const store = make();
    await store.record(Array.from({ length: MAX_VERSIONS_PER_TOPIC + 3 }, (_, i) => ({ topic: 'many', version: `v${i}`, at: T0 + i })));
    const kept = await store.list({ topic: 'many', from: 0, to: T0 * 2 });
    assert.equal(kept.length, MAX_VERSIONS_PER_TOPIC);
    assert.equal(kept[0]!.version, 'v3');
  });
}
