import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '@moodstream/core';
import type { Post } from '@moodstream/events';
import { startDemoFeeder } from '../scripts/start/demo-feeder';
import type { ScheduledPost } from '../scripts/start/demo-plan';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

function item(id: string, emitAt: number, history: boolean): ScheduledPost {
  return { emitAt, history, post: { id } as Post };
}

describe('demo feeder', () => {
  it('sends the history at once in batches, then each live post when it falls due', async () => {
    const clock = new VirtualClock(1_000);
    const sent: string[][] = [];
    const schedule = [
      item('h1', 1_000, true),
      item('h2', 1_000, true),
      item('h3', 1_000, true),
      item('l1', 1_500, false),
      item('l2', 1_500, false),
      item('l3', 4_000, false),
    ];
    const feeder = startDemoFeeder({
      schedule: schedule[Symbol.iterator](),
      send: async (posts) => {
        sent.push(posts.map((p) => p.id));
      },
      clock,
      batchSize: 2,
      onError: (error) => assert.fail(String(error)),
    });
    await feeder.historyDone;
    await flush();
    assert.deepEqual(sent, [['h1', 'h2'], ['h3']]);
    clock.advance(499);
    await flush();
    assert.equal(feeder.produced(), 3, 'nothing live before its time');
    clock.advance(1);
    await flush();
    assert.deepEqual(sent.at(-1), ['l1', 'l2']);
    clock.advance(2_499);
    await flush();
    assert.equal(feeder.produced(), 5);
    clock.advance(1);
    await flush();
    assert.deepEqual(sent.at(-1), ['l3']);
    await feeder.stop();
    assert.equal(clock.pendingTimers(), 0);
  });

  it('stops on the first failed send and reports it', async () => {
    const clock = new VirtualClock(0);
    const errors: unknown[] = [];
    let calls = 0;
    const feeder = startDemoFeeder({
      schedule: [item('a', 0, false), item('b', 10, false)][Symbol.iterator](),
      send: async () => {
        calls++;
        throw new Error('broker gone');
      },
      clock,
      onError: (error) => errors.push(error),
    });
    await flush();
    clock.advance(100);
    await flush();
    assert.equal(calls, 1);
    assert.match(String(errors[0]), /broker gone/);
    await feeder.stop();
  });
});
