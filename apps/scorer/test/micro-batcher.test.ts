import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '@moodstream/core';
import { MicroBatcher } from '../src/micro-batcher';

/** Lets resolved promises run their continuations. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function recorder(clock: VirtualClock) {
  const batches: { at: number; items: number[] }[] = [];
  const gates: (() => void)[] = [];
  let holdBatches = false;
  const process = (items: number[]): Promise<void> => {
    batches.push({ at: clock.now(), items });
    if (!holdBatches) return Promise.resolve();
    return new Promise<void>((resolve) => gates.push(resolve));
  };
  return {
    batches,
    process,
    hold: () => {
      holdBatches = true;
    },
    releaseOne: () => gates.shift()?.(),
  };
}

test('flushes a partial batch when its oldest item reaches the age limit', async () => {
  const clock = new VirtualClock(1_000);
  const rec = recorder(clock);
  const batcher = new MicroBatcher<number>({ maxSize: 4, maxAgeMs: 50, maxInFlight: 1, clock, process: rec.process });
  let done = false;
  void batcher.add([1, 2]).then(() => (done = true));
  clock.advance(30);
  void batcher.add([3]);
  clock.advance(19);
  await settle();
  assert.equal(rec.batches.length, 0, 'nothing flushes before the oldest item is 50 ms old');
  clock.advance(1);
  await settle();
  assert.deepEqual(rec.batches, [{ at: 1_050, items: [1, 2, 3] }]);
  assert.equal(done, true);
  assert.equal(clock.pendingTimers(), 0);
});

test('flushes at once when the size limit is reached, and the rest waits for its own age', async () => {
  const clock = new VirtualClock();
  const rec = recorder(clock);
  const batcher = new MicroBatcher<number>({ maxSize: 3, maxAgeMs: 100, maxInFlight: 4, clock, process: rec.process });
  const resolved: string[] = [];
  void batcher.add([1, 2, 3, 4, 5, 6, 7]).then(() => resolved.push('first'));
  await settle();
  assert.deepEqual(
    rec.batches.map((b) => b.items),
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
  );
  assert.deepEqual(resolved, [], 'the caller waits until its last item (7) is processed');
  clock.advance(99);
  await settle();
  assert.equal(rec.batches.length, 2);
  clock.advance(1);
  await settle();
  assert.deepEqual(rec.batches[2], { at: 100, items: [7] });
  assert.deepEqual(resolved, ['first']);
});

test('never runs more than maxInFlight batches at once and keeps their order', async () => {
  const clock = new VirtualClock();
  const rec = recorder(clock);
  rec.hold();
  const batcher = new MicroBatcher<number>({ maxSize: 2, maxAgeMs: 10, maxInFlight: 2, clock, process: rec.process });
  void batcher.add([1, 2, 3, 4, 5, 6]);
  await settle();
  assert.equal(rec.batches.length, 2);
  assert.equal(batcher.batchesInFlight, 2);
  assert.equal(batcher.waiting, 2);
  rec.releaseOne();
  await settle();
  assert.deepEqual(
    rec.batches.map((b) => b.items),
    [
      [1, 2],
      [3, 4],
      [5, 6],
    ],
  );
  rec.releaseOne();
  rec.releaseOne();
  await batcher.whenIdle();
  assert.equal(batcher.batchesInFlight, 0);
});

test('a failed batch rejects every caller with an item in it and only those', async () => {
  const clock = new VirtualClock();
  const boom = new Error('broker refused');
  const batcher = new MicroBatcher<string>({
    maxSize: 2,
    maxAgeMs: 5,
    maxInFlight: 1,
    clock,
    process: async (items) => {
      if (items.includes('poison')) throw boom;
    },
  });
  const a = batcher.add(['ok-1', 'poison']);
  const b = batcher.add(['ok-2']);
  clock.advance(5);
  await assert.rejects(a, boom);
  await b;
});

test('flushEagerly sends what waits now and everything after without waiting for age', async () => {
  const clock = new VirtualClock();
  const rec = recorder(clock);
  const batcher = new MicroBatcher<number>({ maxSize: 10, maxAgeMs: 1_000, maxInFlight: 1, clock, process: rec.process });
  const first = batcher.add([1]);
  batcher.flushEagerly();
  await first;
  await batcher.add([2, 3]);
  assert.deepEqual(
    rec.batches.map((b) => [b.at, b.items]),
    [
      [0, [1]],
      [0, [2, 3]],
    ],
  );
  assert.equal(clock.pendingTimers(), 0);
});

test('flushTail cuts the remainder of a saturated hand-over at once, without affecting later adds', async () => {
  const clock = new VirtualClock();
  const rec = recorder(clock);
  const batcher = new MicroBatcher<number>({ maxSize: 4, maxAgeMs: 50, maxInFlight: 4, clock, process: rec.process });
  await batcher.add([1, 2, 3, 4, 5, 6], { flushTail: true });
  assert.deepEqual(
    rec.batches.map((b) => [b.at, b.items]),
    [
      [0, [1, 2, 3, 4]],
      [0, [5, 6]],
    ],
  );
  const later = batcher.add([7]);
  await settle();
  assert.equal(rec.batches.length, 2, 'an ordinary add still waits for its age');
  clock.advance(50);
  await later;
  assert.deepEqual(rec.batches[2], { at: 50, items: [7] });
});
