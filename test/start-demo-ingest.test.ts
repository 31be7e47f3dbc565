import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VirtualClock } from '@moodstream/core';
import { PostSchema, type Post } from '@moodstream/events';
import { startDemoIngest, type ArchiveRun } from '../scripts/start/demo-ingest';
import type { ScheduledPost } from '../scripts/start/demo-plan';

/** Waits for the feeder's real file I/O to reach a state; fails (never hangs) after 5 s. */
async function until(what: string, predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 2));
  }
}

function item(id: string, emitAt: number, history: boolean, lap: number): ScheduledPost {
  const post: Post = PostSchema.parse({
    id,
    blog: 'b',
    url: `https://b.example.com/post/${id}`,
    timestamp: emitAt,
    topics: ['t'],
    text: id,
    imageUrl: null,
    source: 'archive',
    label: null,
    ingestedAt: emitAt,
  });
  return { emitAt, history, lap, post };
}

describe('demo ingest (the ingester in archive mode, one run per piece)', () => {
  it('replays the history at its speed, then each lap at 1x from its first due time, removing each file after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'demo-ingest-'));
    const clock = new VirtualClock(10_000);
    const runs: { file: string; speed: number; at: number; ids: string[]; finish: () => void }[] = [];
    const schedule = [
      item('h1', 10_000, true, 0),
      item('h2', 10_000, true, 0),
      item('a1', 10_500, false, 0),
      item('a2', 11_000, false, 0),
      item('b1', 20_000, false, 1),
      item('b2', 20_400, false, 1),
      item('c1', 30_000, false, 2),
    ];
    const runArchive = async (file: string, speed: number): Promise<ArchiveRun> => {
      const ids = (await readFile(file, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as Post).id);
      let finish: () => void = () => undefined;
      const done = new Promise<void>((resolve) => {
        finish = resolve;
      });
      runs.push({ file, speed, at: clock.now(), ids, finish });
      return { done, stop: async () => finish() };
    };
    const demo = startDemoIngest({ schedule: schedule[Symbol.iterator](), dir, runArchive, clock, historySpeed: 60 });
    await until('the history run starts', () => runs.length === 1);
    assert.deepEqual(runs.map((r) => [r.speed, r.ids]), [[60, ['h1', 'h2']]]);
    runs[0]?.finish();
    await demo.historyDone;
    await until('lap 0 is waiting for its time', () => clock.pendingTimers() === 1);
    assert.equal(existsSync(runs[0]?.file ?? ''), false, 'history file removed');
    assert.equal(runs.length, 1, 'lap 0 waits for its first due time');
    clock.advance(500);
    await until('lap 0 starts', () => runs.length === 2);
    assert.deepEqual(runs.map((r) => [r.speed, r.at, r.ids]).slice(1), [[1, 10_500, ['a1', 'a2']]]);
    runs[1]?.finish();
    await until('lap 1 is waiting for its time', () => clock.pendingTimers() === 1);
    clock.advance(9_499);
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    assert.equal(runs.length, 2, 'lap 1 not before its time');
    clock.advance(1);
    await until('lap 1 starts', () => runs.length === 3);
    assert.deepEqual(runs[2]?.ids, ['b1', 'b2']);
    assert.equal(demo.laps(), 2);
    await demo.stop();
    assert.equal(runs.length, 3, 'no run after stop');
    assert.equal(clock.pendingTimers(), 0);
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a failed ingester run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'demo-ingest-'));
    const demo = startDemoIngest({
      schedule: [item('h1', 0, true, 0)][Symbol.iterator](),
      dir,
      clock: new VirtualClock(0),
      historySpeed: 60,
      runArchive: async () => ({ done: Promise.reject(new Error('broker gone')), stop: async () => undefined }),
    });
    await assert.rejects(demo.failed, /demo ingest failed: broker gone/);
    await demo.stop();
    await rm(dir, { recursive: true, force: true });
  });
});
