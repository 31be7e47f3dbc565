import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateTaggedPosts, startTumblrStandIn, type RequestLogEntry } from '@moodstream/tumblr';
import { killSoon, openIngesterRun, postCounts, spawnIngester } from './support/ingester-harness';

/**
 * The ingester's acceptance run, end to end against real Kafka and Redis: three tags × 500 posts with
 * overlapping tags, a scripted 429 storm in the middle, and a `kill -9` of the ingester process in the
 * middle of the run, then a restart with the same command. Afterwards Kafka must hold every post
 * exactly once, the restart must have resumed the saved cursors (no re-walk, no gap) and the calls
 * made must stay within 5% of the ideal.
 */
const TAGS = ['happy', 'sad', 'angry'];
const PER_TAG = 500;
const STORM = { fromRequest: 20, count: 4, retryAfterSeconds: 1 };
/** The ingester is killed twice: after these numbers of successful calls (counted over the whole run). */
const KILLS_AT_OK_CALL = [30, 55];

test('3 tags × 500 posts, a 429 storm and kill -9 twice: every post once on Kafka, cursors resumed, calls ≤ ideal + 5%', { timeout: 300_000 }, async () => {
  const run = openIngesterRun('it-ingest');
  const newest = Math.floor(Date.now() / 1000) - 60;
  const fixtures = generateTaggedPosts({ tags: TAGS, perTag: PER_TAG, overlap: 0.3, seed: 42, newestTimestamp: newest, spacingSeconds: 5 });
  let victim: ChildProcess | null = null;
  const killedAfter: RequestLogEntry[] = [];
  const standIn = await startTumblrStandIn({
    posts: fixtures.posts,
    behaviours: { faults: [{ kind: 'rate-limit', ...STORM }], latencyMs: 15 },
    onRequest: (entry) => {
      const ok = standIn.requestLog.filter((r) => r.status === 200).length;
      const due = KILLS_AT_OK_CALL[killedAfter.length];
      if (victim !== null && due !== undefined && entry.status === 200 && ok >= due) {
        killedAfter.push(entry);
        killSoon(victim);
        victim = null;
      }
    },
  });
  const from = new Date((newest - 24 * 3600) * 1000).toISOString();
  const to = new Date((newest + 1) * 1000).toISOString();
  const args = ['backfill', ...TAGS.flatMap((t) => ['--tag', t]), '--from', from, '--to', to];
  const env = run.env(standIn.url, { LOG_LEVEL: 'info' });
  try {
    const outputs: string[] = [];
    const restarts: number[] = [];
    for (let i = 0; i < KILLS_AT_OK_CALL.length; i++) {
      const doomed = spawnIngester(args, env);
      victim = doomed.child;
      const code = await doomed.exited;
      outputs.push(doomed.output());
      assert.equal(code, null, `run ${i + 1} must die by SIGKILL, not exit (${doomed.output().slice(-2000)})`);
      restarts.push(standIn.requestLog.length);
    }
    assert.equal(killedAfter.length, KILLS_AT_OK_CALL.length, 'every kill happened mid-run');

    const last = spawnIngester(args, env);
    const lastExit = await last.exited;
    outputs.push(last.output());
    assert.equal(lastExit, 0, `the restarted backfill finishes cleanly:\n${last.output().slice(-3000)}`);

    // Kafka holds every post exactly once, and nothing else.
    let records = 0;
    const counts = await postCounts(run.bus, (record) => {
      records++;
      assert.equal(record.key, record.value.id, 'keyed by post id');
      assert.equal(record.timestamp, record.value.timestamp, 'record timestamp = post timestamp');
    });
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'no post twice');
    assert.equal(counts.size, fixtures.ids.length, 'every post present');
    assert.equal(records, fixtures.ids.length);
    for (const id of fixtures.ids) assert.ok(counts.has(id), `post ${id} on Kafka`);

    // Each restart resumed every tag at its saved position: its first request is no newer than the
    // last page the killed run asked for (a page in flight is re-read; nothing is walked twice).
    const log = standIn.requestLog;
    const ceiling = Math.ceil(Date.parse(to) / 1000);
    for (const restartAt of restarts) {
      for (const tag of TAGS) {
        const earlier = log.slice(0, restartAt).filter((r) => r.tag === tag && r.status === 200);
        const later = log.slice(restartAt).filter((r) => r.tag === tag);
        if (earlier.length === 0) continue;
        const lastBefore = earlier.at(-1)?.before ?? ceiling;
        const resumedAt = later[0]?.before ?? null;
        if (resumedAt === null) continue; // the tag had finished before the kill
        assert.ok(resumedAt <= lastBefore && resumedAt !== ceiling, `${tag} resumed at before=${resumedAt}, last asked before the kill ${lastBefore}`);
      }
    }

    // Calls: `before` is strict and a page may end inside a second, so a correct walk re-reads each full page's
    // oldest second: the first page gives 20 new posts, each later one at least 19, and a short page ends it.
    const ideal = TAGS.length * (1 + Math.ceil((PER_TAG - 20) / 19) + ((PER_TAG - 20) % 19 === 0 ? 1 : 0));
    const okCalls = log.filter((r) => r.status === 200).length;
    const limited = log.filter((r) => r.status === 429);
    assert.equal(limited.length, STORM.count, 'every storm answer was met with one call, no hammering');
    assert.ok(okCalls <= ideal * 1.05, `ok calls ${okCalls} ≤ ideal ${ideal} + 5%`);
    const recovered = outputs.filter((o) => /recovering the batch/.test(o)).length;
    assert.ok(log.length <= (ideal + STORM.count) * 1.05, `all calls ${log.length} ≤ (ideal ${ideal} + ${STORM.count} storm answers) + 5%`);
    // Retry-After was honoured: the call after each 429 came at least ~1 s later.
    for (const answer of limited) {
      const next = log.find((r) => r.n === answer.n + 1);
      if (next !== undefined) assert.ok(next.at - answer.at >= 950, `waited ${next.at - answer.at} ms after a 429`);
    }
    process.stdout.write(
      `# acceptance: posts=${fixtures.ids.length} records=${records} okCalls=${okCalls} ideal=${ideal} allCalls=${log.length} ` +
        `429s=${limited.length} killedAfterCalls=${killedAfter.map((k) => k.n).join(',')} restartsThatRecoveredAPendingBatch=${recovered}\n`,
    );
  } finally {
    (victim as ChildProcess | null)?.kill('SIGKILL');
    await standIn.close();
    await run.cleanup();
  }
});

/**
 * The day's budget runs out mid-backfill: Tumblr answers 429 with no Retry-After, only `X-Ratelimit-Perday-
 * Remaining: 0` and the seconds to its reset. The ingester must send nothing until then — not a blind backoff
 * every second — even across a `kill -9` during the wait, and then finish with every post once.
 */
test('daily limit exhausted: no request until the reset the headers gave, across a kill -9; every post once', { timeout: 120_000 }, async () => {
  const run = openIngesterRun('it-ingest-day');
  const newest = Math.floor(Date.now() / 1000) - 60;
  const fixtures = generateTaggedPosts({ tags: ['happy', 'sad'], perTag: 60, overlap: 0.2, seed: 9, newestTimestamp: newest, spacingSeconds: 5 });
  const RESET_SECONDS = 6;
  const standIn = await startTumblrStandIn({
    posts: fixtures.posts,
    behaviours: { faults: [{ kind: 'rate-limit', fromRequest: 3, count: 1, retryAfterSeconds: null, exhausted: 'day', resetSeconds: RESET_SECONDS }] },
  });
  const from = new Date((newest - 24 * 3600) * 1000).toISOString();
  const to = new Date((newest + 1) * 1000).toISOString();
  const args = ['backfill', '--tag', 'happy', '--tag', 'sad', '--from', from, '--to', to];
  // A blind backoff would come back within 0.1–0.2 s.
  const env = run.env(standIn.url, { LOG_LEVEL: 'info', INGEST_BACKOFF_INITIAL_MS: '100', INGEST_BACKOFF_MAX_MS: '200' });
  let first: ReturnType<typeof spawnIngester> | null = null;
  try {
    first = spawnIngester(args, env);
    const doomed = first;
    const deadline = Date.now() + 30_000;
    while (!standIn.requestLog.some((r) => r.status === 429)) {
      if (Date.now() > deadline) throw new Error(`no 429 reached:\n${doomed.output().slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const limited = standIn.requestLog.find((r) => r.status === 429) as RequestLogEntry;
    // Killed during the wait: the pause must come back from the store, not from memory.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    doomed.child.kill('SIGKILL');
    assert.equal(await doomed.exited, null);
    const last = spawnIngester(args, env);
    const code = await last.exited;
    assert.equal(code, 0, `the backfill finishes after the reset:\n${last.output().slice(-3000)}`);

    const after = standIn.requestLog.filter((r) => r.n > limited.n);
    assert.ok(after.length > 0);
    const waited = (after[0] as RequestLogEntry).at - limited.at;
    assert.ok(waited >= RESET_SECONDS * 1000 - 50, `the next request came ${waited} ms after the 429, not after the ${RESET_SECONDS} s reset`);
    assert.equal(standIn.requestLog.filter((r) => r.status === 429).length, 1, 'one 429, nothing sent into the spent day');

    const counts = await postCounts(run.bus);
    assert.equal(counts.size, fixtures.ids.length, 'every post present');
    assert.deepEqual([...counts].filter(([, n]) => n > 1), [], 'no post twice');
    process.stdout.write(`# daily limit: waited ${waited} ms after the 429 for a ${RESET_SECONDS} s reset, across a kill -9; posts=${counts.size}\n`);
  } finally {
    first?.child.kill('SIGKILL');
    await standIn.close();
    await run.cleanup();
  }
});
