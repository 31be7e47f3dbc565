import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPost, generateTaggedPosts, startTumblrStandIn, type RequestLogEntry } from '@moodstream/tumblr';
import { killSoon, openIngesterRun, postCounts, spawnIngester, type IngesterProcess } from './support/ingester-harness';

/**
 * Live mode against real Kafka and Redis: the ingester is killed (-9) in the middle of its first walk
 * back through three tags' history, restarted, then new posts appear. Kafka must end up with every
 * post once; the restart must continue the interrupted walks (not start them over from the top).
 */
const TAGS = ['happy', 'sad', 'angry'];

async function producedTotal(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^moodstream_ingester_posts_produced_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('live: kill -9 mid-walk, restart continues the walks, new posts are picked up, every post once on Kafka', { timeout: 240_000 }, async () => {
  const run = openIngesterRun('it-ingest-live');
  const now = Math.floor(Date.now() / 1000);
  const fixtures = generateTaggedPosts({ tags: TAGS, perTag: 200, overlap: 0.3, seed: 5, newestTimestamp: now - 120, spacingSeconds: 3 });
  let victim: ChildProcess | null = null;
  let killedAt: RequestLogEntry | null = null;
  const standIn = await startTumblrStandIn({
    posts: fixtures.posts,
    behaviours: { latencyMs: 15 },
    onRequest: (entry) => {
      if (victim !== null && entry.status === 200 && standIn.requestLog.filter((r) => r.status === 200).length >= 14) {
        killedAt = entry;
        killSoon(victim);
        victim = null;
      }
    },
  });
  const env = run.env(standIn.url, { INGEST_TOPICS: '', INGEST_POLL_INTERVAL_MS: '500', INGEST_LIVE_LOOKBACK_MS: String(24 * 3_600_000) });
  let second: IngesterProcess | null = null;
  try {
    const first = spawnIngester(['live'], env);
    victim = first.child;
    assert.equal(await first.exited, null, `killed by SIGKILL: ${first.output().slice(-1500)}`);
    assert.ok(killedAt !== null);
    const restartAt = standIn.requestLog.length;

    second = spawnIngester(['live'], env);
    const port = await second.metricsPort;
    // The restarted process produces only what the killed one had not (its own counter starts at 0).
    const before = new Set((await postCounts(run.bus)).keys());
    await waitFor(async () => before.size + (await producedTotal(port)) >= fixtures.ids.length, 60_000, 'the history');
    const fresh = [
      buildPost({ id: 950000000000000001n, timestamp: Math.floor(Date.now() / 1000), watched: ['happy'], format: 'npf' }),
      buildPost({ id: 950000000000000002n, timestamp: Math.floor(Date.now() / 1000), watched: ['sad', 'angry'], format: 'legacy-photo' }),
    ];
    standIn.addPosts(fresh);
    await waitFor(async () => before.size + (await producedTotal(port)) >= fixtures.ids.length + 2, 30_000, 'the new posts');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, 'a graceful stop exits 0');

    const counts = await postCounts(run.bus);
    assert.deepEqual([...counts].filter(([, n]) => n > 1), [], 'no post twice');
    assert.equal(counts.size, fixtures.ids.length + 2, 'every post, old and new');

    // The interrupted walks continued where they were: after the restart no tag asked again for a
    // page it had already read before the kill, except the one page in flight.
    const log = standIn.requestLog;
    const seenPages = new Set(log.slice(0, restartAt).filter((r) => r.status === 200 && r.before !== null).map((r) => `${r.tag}@${r.before}`));
    const repeated = log.slice(restartAt).filter((r) => r.before !== null && seenPages.has(`${r.tag}@${r.before}`));
    assert.ok(repeated.length <= 1, `pages read again after the restart: ${JSON.stringify(repeated)}`);
    process.stdout.write(`# live: posts=${counts.size} calls=${log.length} killedAfterCall=${(killedAt as RequestLogEntry | null)?.n} pagesReadAgain=${repeated.length}\n`);
  } finally {
    (victim as ChildProcess | null)?.kill('SIGKILL');
    second?.child.kill('SIGKILL');
    await standIn.close();
    await run.cleanup();
  }
});
