import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VirtualClock } from '@moodstream/core';
import { PostSchema, type Post } from '@moodstream/events';
import { startDemoIngest, type ArchiveRun } from '../scripts/start/demo-ingest';
import { demoSchedule, type ScheduledPost } from '../scripts/start/demo-plan';
import { DEMO_SESSION_MAX_AGE_MS, demoSession, demoSessionKey, sessionId } from '../scripts/start/demo-session';
import { loadDemoStream } from '../scripts/start/demo-stream';
import { REPO_ROOT } from '../scripts/start/paths';

/**
 * Restarting the distributed demo never counts a post twice: a restart resumes the session (same start time, so the
 * same post times and ids, which the aggregator's dedupe drops), and a new session gets ids of its own. A resumed
 * demo produces what fell due while it was down at once, then plays on in real time.
 */
describe('demo sessions across restarts', () => {
  it('resumes within the maximum age with the same start; starts a new session with new ids after it or on other settings', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'demo-session-'));
    try {
      const file = join(dir, 'demo-session.json');
      const key = demoSessionKey({ brokers: 'k:1', redis: 'redis://r', speed: 1 });
      const first = demoSession(file, key, 1_000_000);
      assert.deepEqual(first, { session: 0, startAt: 1_000_000, resumed: false });
      assert.deepEqual(demoSession(file, key, 1_000_000 + 60_000), { session: 0, startAt: 1_000_000, resumed: true });
      const later = demoSession(file, key, 1_000_000 + DEMO_SESSION_MAX_AGE_MS);
      assert.deepEqual(later, { session: 1, startAt: 1_000_000 + DEMO_SESSION_MAX_AGE_MS, resumed: false });
      const other = demoSession(file, demoSessionKey({ brokers: 'k:2', redis: 'redis://r', speed: 1 }), 1_000_000 + DEMO_SESSION_MAX_AGE_MS + 1);
      assert.equal(other.resumed, false);
      assert.equal(other.session, 2);
      assert.equal(sessionId('700000000001', 0), '700000000001');
      assert.equal(sessionId('700000000001', 2), '2000700000000001');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a resumed session schedules every post with the same id and time; a new session shares no id with the old one', async () => {
    const { manifest, posts } = await loadDemoStream(join(REPO_ROOT, 'data/demo/stream.ndjson'));
    const take = (startAt: number, session: number, n: number): Post[] => {
      const out: Post[] = [];
      const schedule = demoSchedule({
        manifest,
        posts,
        startAt,
        historySpeed: 60,
        leadMinutes: 2,
        speed: 1,
        ...(session === 0 ? {} : { mapId: (id: string) => sessionId(id, session) }),
      });
      for (const item of schedule) {
        out.push(item.post);
        if (out.length >= n) break;
      }
      return out;
    };
    const n = posts.length + 100;
    const before = take(1_800_000_000_000, 0, n);
    const resumed = take(1_800_000_000_000, 0, n);
    assert.deepEqual(
      resumed.map((p) => [p.id, p.timestamp]),
      before.map((p) => [p.id, p.timestamp]),
    );
    const fresh = take(1_800_000_000_000 + DEMO_SESSION_MAX_AGE_MS, 1, n);
    const old = new Set(before.map((p) => p.id));
    assert.equal(fresh.filter((p) => old.has(p.id)).length, 0, 'no id of session 0 comes back in session 1');
    assert.equal(new Set(fresh.map((p) => p.id)).size, fresh.length);
  });

  it('a resumed demo produces the overdue part of a lap at once at the history speed, then the rest from its due time at 1x', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'demo-overdue-'));
    const clock = new VirtualClock(100_000);
    const runs: { speed: number; at: number; ids: string[]; finish: () => void }[] = [];
    const item = (id: string, emitAt: number, history: boolean): ScheduledPost => ({
      emitAt,
      history,
      lap: 0,
      post: PostSchema.parse({ id, blog: 'b', url: `https://b.example.com/post/${id}`, timestamp: emitAt, topics: ['t'], text: id, imageUrl: null, source: 'archive', label: null, ingestedAt: emitAt }),
    });
    // The session started long ago: the history and half of lap 0 are overdue.
    const schedule = [item('h1', 1_000, true), item('a1', 20_000, false), item('a2', 50_000, false), item('a3', 150_000, false), item('a4', 160_000, false)];
    const runArchive = async (file: string, speed: number): Promise<ArchiveRun> => {
      const ids = (await readFile(file, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as Post).id);
      let finish: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (finish = resolve));
      runs.push({ speed, at: clock.now(), ids, finish });
      return { done, stop: async () => finish() };
    };
    const demo = startDemoIngest({ schedule: schedule[Symbol.iterator](), dir, runArchive, clock, historySpeed: 60 });
    const until = async (count: number): Promise<void> => {
      const deadline = Date.now() + 5_000;
      while (runs.length < count) {
        if (Date.now() > deadline) assert.fail(`only ${runs.length} runs`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    };
    try {
      await until(1);
      assert.deepEqual(runs[0], { ...runs[0], speed: 60, ids: ['h1'] });
      runs[0]?.finish();
      await until(2);
      assert.equal(runs[1]?.speed, 60, 'the overdue part at the history speed');
      assert.deepEqual(runs[1]?.ids, ['a1', 'a2']);
      assert.equal(runs[1]?.at, 100_000, 'at once');
      runs[1]?.finish();
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(runs.length, 2, 'the rest waits for its due time');
      clock.advance(50_000);
      await until(3);
      assert.deepEqual(runs[2]?.ids, ['a3', 'a4']);
      assert.equal(runs[2]?.speed, 1);
      assert.equal(runs[2]?.at, 150_000);
    } finally {
      await demo.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
