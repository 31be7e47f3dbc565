import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { STANDIN_DEFAULT_KEY, generateTaggedPosts, startTumblrStandIn, type TumblrStandIn } from '@moodstream/tumblr';
import { EMOTIONS } from '@moodstream/events';
import { spawnLauncher, type LauncherProcess } from '../scripts/start/launcher-process';

/**
 * `TUMBLR_API_KEY=… npm start`: the embedded stack polling "live Tumblr" — the project's local stand-in
 * for the API (libs/tumblr), so no network is needed — through to the dashboard's series API; and the
 * key never appears in anything the launcher prints.
 */
let standIn: TumblrStandIn | null = null;
let run: LauncherProcess | null = null;
let stateDir: string | null = null;

after(async () => {
  if (run !== null && run.child.exitCode === null) run.child.kill('SIGKILL');
  await standIn?.close();
  if (stateDir !== null) await rm(stateDir, { recursive: true, force: true });
});

describe('npm start with a Tumblr API key (embedded, against the local Tumblr stand-in)', () => {
  it('polls the watched tags, scores and charts the posts, and never prints the key', { timeout: 4 * 60_000 }, async () => {
    const { posts } = generateTaggedPosts({ tags: [...EMOTIONS], perTag: 20, newestTimestamp: Math.floor(Date.now() / 1000), spacingSeconds: 5 });
    standIn = await startTumblrStandIn({ posts });
    stateDir = await mkdtemp(join(tmpdir(), 'moodstream-start-live-'));
    run = spawnLauncher({
      env: {
        PORT: '0',
        TUMBLR_API_KEY: STANDIN_DEFAULT_KEY,
        TUMBLR_API_URL: standIn.url,
        INGEST_STATE_FILE: join(stateDir, 'ingester-state.jsonl'),
        LOG_LEVEL: 'info',
      },
    });
    const [, url = ''] = await run.waitFor(/dashboard live at (http:\/\/\S+)/, 90_000);
    await run.waitFor(/polling live Tumblr for happy, sad, angry, surprised, scared, disgusted/, 10_000);
    const deadline = Date.now() + 90_000;
    let total = 0;
    // Both, however they interleave: since scoring got faster, the first tags' posts can be on the chart before
    // the ingester has reached the last tag (it polls the tags one after another), which is not a failure.
    while ((total === 0 || standIn.okCalls() < EMOTIONS.length) && Date.now() < deadline) {
      const body = (await (await fetch(new URL('/api/series?topic=all&window=1h', url))).json()) as { points: { count: number }[] };
      total = body.points.reduce((sum, p) => sum + p.count, 0);
      if (total === 0 || standIn.okCalls() < EMOTIONS.length) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(total > 0, 'posts polled from the stand-in reached the chart');
    assert.ok(standIn.okCalls() >= EMOTIONS.length, `each watched tag was polled (${standIn.okCalls()} calls)`);
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0, run.output().slice(-3000));
    assert.ok(!run.output().includes(STANDIN_DEFAULT_KEY), 'the API key never appears in the output (logs at info level)');
  });
});
