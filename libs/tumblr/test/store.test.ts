import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileIngestStore, MemoryIngestStore, type IngestStore } from '../src/index';

async function contract(store: IngestStore): Promise<void> {
  assert.equal(await store.getCursor('live:happy'), null);
  await store.setPending({ cursorKey: 'live:happy', cursor: { newestTs: 5, newestIds: ['a'], walk: null }, ids: ['a', 'b'], posts: [], minTs: 1, maxTs: 5 });
  assert.equal((await store.getPending())?.ids.length, 2);
  await store.commit({ cursorKey: 'live:happy', cursor: { newestTs: 5, newestIds: ['a'], walk: null }, produced: [{ id: 'a', ts: 5 }, { id: 'b', ts: 1 }] });
  assert.equal(await store.getPending(), null);
  assert.deepEqual(await store.seen(['a', 'c', 'b']), new Set(['a', 'b']));
  assert.deepEqual((await store.getCursor('live:happy'))?.newestIds, ['a']);
  await store.saveBudget({ buckets: { perDay: { tokens: 3.5, updatedAt: 10 } }, pausedUntil: 99 });
  assert.equal((await store.getBudget())?.pausedUntil, 99);
}

test('memory store contract', async () => {
  await contract(new MemoryIngestStore());
});

test('file store survives a reopen (as after kill -9) and ignores a torn last line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-store-'));
  try {
    const path = join(dir, 'state.jsonl');
    const store = FileIngestStore.open(path);
    await contract(store);
    await store.setPending({ cursorKey: 'live:sad', cursor: { newestTs: 9, newestIds: [], walk: null }, ids: ['z'], posts: [], minTs: 9, maxTs: 9 });
    appendFileSync(path, '{"t":"commit","cursorKey":"live:sad","cur');
    const reopened = FileIngestStore.open(path);
    assert.deepEqual(await reopened.seen(['a', 'b', 'z']), new Set(['a', 'b']));
    assert.equal((await reopened.getPending())?.ids[0], 'z', 'the pending batch survives for recovery');
    assert.equal((await reopened.getBudget())?.buckets['perDay']?.tokens, 3.5);
    assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 1, 'compacted into one snapshot line on open');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the produced-id set is bounded, oldest posts evicted first', async () => {
  const store = new MemoryIngestStore({ maxProduced: 3 });
  await store.commit({ cursorKey: 'k', cursor: { newestTs: null, newestIds: [], walk: null }, produced: [1, 2, 3, 4, 5].map((n) => ({ id: `p${n}`, ts: n })) });
  assert.deepEqual(await store.seen(['p1', 'p2', 'p3', 'p4', 'p5']), new Set(['p3', 'p4', 'p5']));
});
