import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createMemoryBus, type Bus } from '../src/index';
import { makePost, testLogger, waitFor } from './contract';

const CAP = 64 * 1024;

async function retained(bus: Bus, topic: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const batch of bus.readByTime({ topic, eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })) ids.push(...batch.map((r) => r.value.id));
  return ids;
}

function reader(bus: Bus, groupId: string, seen: string[]) {
  return bus.consumer({
    groupId,
    topics: ['posts'],
    eventType: 'Post',
    deadLetterTopic: 'dlq',
    fromBeginning: true,
    handler: async (records) => {
      seen.push(...records.map((r) => r.value.id));
    },
  });
}

const ids = (n: number, tag: string): string[] => Array.from({ length: n }, (_, i) => `${tag}-${String(i).padStart(4, '0')}`);

test('memory bus retention: committed records beyond retentionBytes are trimmed oldest first, and the reader got every one', async () => {
  const bus = createMemoryBus({ defaultPartitions: 1, retentionBytes: CAP, logger: testLogger });
  const producer = await bus.producer();
  const seen: string[] = [];
  const consumer = reader(bus, 'g', seen);
  await consumer.start();
  const all = ids(1_000, 'p');
  for (let i = 0; i < all.length; i += 50) {
    await producer.send('posts', 'Post', all.slice(i, i + 50).map((id) => ({ key: id, value: makePost(id) })));
    await waitFor('the batch consumed', () => seen.length >= i + 50, 2_000);
  }
  assert.deepEqual(seen, all, 'the consumer read every record, in order');
  const kept = await retained(bus, 'posts');
  assert.ok(kept.length > 0 && kept.length < 300, `kept ${kept.length} of 1000 under a ${CAP}-byte cap`);
  assert.deepEqual(kept, all.slice(all.length - kept.length), 'what is kept is the newest, contiguous');
  assert.equal(await consumer.lag(), 0);
  await bus.close();
});

test('memory bus retention: records a group has not committed are kept past the cap, then delivered', async () => {
  const bus = createMemoryBus({ defaultPartitions: 1, retentionBytes: CAP, logger: testLogger });
  const producer = await bus.producer();
  const seen: string[] = [];
  // The group exists and has read nothing yet: a stopped consumer.
  const first = reader(bus, 'slow', seen);
  await first.start();
  await first.stop();
  const all = ids(600, 'q');
  await producer.send('posts', 'Post', all.map((id) => ({ key: id, value: makePost(id) })));
  assert.equal((await retained(bus, 'posts')).length, all.length, 'nothing trimmed while the group has not committed it');
  const again = reader(bus, 'slow', seen);
  await again.start();
  await waitFor('the backlog consumed', () => seen.length === all.length, 5_000);
  assert.deepEqual(seen, all);
  // The next produce trims what the group has now committed.
  await producer.send('posts', 'Post', [{ key: 'last', value: makePost('last') }]);
  const kept = await retained(bus, 'posts');
  assert.ok(kept.length < all.length, `trimmed once committed (kept ${kept.length})`);
  // A new group reading from the beginning starts at the log start, with no lag left afterwards.
  const late: string[] = [];
  const newcomer = reader(bus, 'newcomer', late);
  await newcomer.start();
  await waitFor('the newcomer caught up', () => late.at(-1) === 'last', 5_000);
  assert.deepEqual(late, kept);
  assert.equal(await newcomer.lag(), 0);
  await bus.close();
});

test('memory bus retention: options are checked', () => {
  assert.throws(() => createMemoryBus({ retentionBytes: 10 }), /retentionBytes/);
  assert.throws(() => createMemoryBus({ retentionBytes: 1024.5 }), /retentionBytes/);
});

test('memory bus retention: retained records pin only their own bytes, not shared allocation-pool slabs', async () => {
  const bus = createMemoryBus({ defaultPartitions: 2, logger: testLogger });
  const producer = await bus.producer();
  const all = ids(2_000, 'm');
  for (let i = 0; i < all.length; i += 20) await producer.send('posts', 'Post', all.slice(i, i + 20).map((id) => ({ key: id, value: makePost(id) })));
  let valueBytes = 0;
  const backing = new Set<ArrayBufferLike>();
  for await (const batch of bus.readRawByTime!({ topic: 'posts', from: 0, to: Number.MAX_SAFE_INTEGER })) {
    for (const record of batch) {
      assert.ok(record.value !== null);
      valueBytes += record.value.length;
      backing.add(record.value.buffer);
    }
  }
  const pinned = [...backing].reduce((sum, buffer) => sum + buffer.byteLength, 0);
  // Node's Buffer.from puts small values in shared 8 KB slabs beside the encoded originals: about twice the bytes.
  assert.ok(pinned <= valueBytes * 1.05, `records of ${valueBytes} bytes pin ${pinned} bytes of buffers (${(pinned / valueBytes).toFixed(2)}×)`);
  await bus.close();
});

test('memory bus retention: a trimmed record is released at once, not at the next compaction of the log', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const collect = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    return process.memoryUsage().arrayBuffers;
  };
  const bus = createMemoryBus({ defaultPartitions: 1, retentionBytes: CAP, logger: testLogger });
  const producer = await bus.producer();
  const before = await collect();
  // 1,000 values of 10 KB through a 64 KB cap: six or so are retained; the log compacts only past 1,024 dropped slots.
  const big = 'x'.repeat(10_000);
  for (let i = 0; i < 1_000; i++) await producer.sendRaw('posts', [{ key: `k${i}`, value: big }]);
  const grown = (await collect()) - before;
  assert.ok(grown < 1_000_000, `${(grown / 1e6).toFixed(1)} MB of Buffers still held for ~${CAP / 1024} KB retained`);
  await bus.close();
});

test('memory bus retention: a retained record costs the heap a few small entries, not a graph of objects with a hidden class each', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heapUsed = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    return process.memoryUsage().heapUsed;
  };
  // A cap far above what is sent: every record stays, as the embedded bus keeps ~10-16 minutes of posts.
  const bus = createMemoryBus({ defaultPartitions: 2, retentionBytes: 1024 * 1024 * 1024, logger: testLogger });
  const producer = await bus.producer();
  const n = 30_000;
  const before = await heapUsed();
  const value = 'v'.repeat(200);
  for (let i = 0; i < n; i += 100) {
    await producer.sendRaw(
      'posts',
      Array.from({ length: 100 }, (_, j) => ({ key: `post-${i + j}`, value, timestamp: 1_796_000_000_000 + i + j, headers: { 'moodstream-type': 'Post', 'moodstream-schema': '1' } })),
    );
  }
  const perRecord = ((await heapUsed()) - before) / n;
  // The key string (~40 bytes) and a few numbers per record; a record object with its own hidden class, a copied
  // headers object, a Buffer view and a boxed timestamp cost ~600 bytes each, ~140 MB of old-space objects churning
  // at the embedded soak's rate, which V8 answered with an ever larger heap.
  assert.ok(perRecord < 200, `${perRecord.toFixed(0)} bytes of heap per retained record`);
  const sample = (await retainedRaw(bus, 'posts')).slice(0, 1)[0];
  assert.deepEqual(sample?.headers, { 'moodstream-type': 'Post', 'moodstream-schema': '1' });
  await bus.close();
});

async function retainedRaw(bus: Bus, topic: string) {
  const out = [];
  for await (const batch of bus.readRawByTime!({ topic, from: 0, to: Number.MAX_SAFE_INTEGER })) out.push(...batch);
  return out;
}
