import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryBus } from '@moodstream/bus';
import { TOPICS, type Post } from '@moodstream/events';
import { FileIngestStore, MemoryIngestStore, badPosts, buildPost, generateTaggedPosts, startTumblrStandIn } from '@moodstream/tumblr';
import { createIngesterApp } from '../src/app';
import { capturedLogger, testConfig, waitFor } from './helpers';

async function readAll(bus: ReturnType<typeof createMemoryBus>): Promise<Post[]> {
  const posts: Post[] = [];
  for await (const batch of bus.readByTime({ topic: TOPICS.posts, eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })) {
    posts.push(...batch.map((r) => r.value));
  }
  return posts;
}

test('backfill of two overlapping tags produces each post once, with all its topics, in the ideal number of calls', async () => {
  const fixtures = generateTaggedPosts({ tags: ['happy', 'sad'], perTag: 95, overlap: 0.3, seed: 7, newestTimestamp: 1_700_000_000 });
  const standIn = await startTumblrStandIn({ posts: fixtures.posts });
  const bus = createMemoryBus();
  const { logger } = capturedLogger();
  const app = createIngesterApp({
    config: testConfig({ TUMBLR_API_URL: standIn.url }),
    bus,
    logger,
    cursorStore: new MemoryIngestStore(),
    run: { mode: 'backfill', tags: ['happy', 'sad'], from: 0, to: 1_700_000_001_000 },
  });
  try {
    await app.start();
    await app.done;
    const posts = await readAll(bus);
    const ids = posts.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'no id twice');
    assert.deepEqual(new Set(ids), new Set(fixtures.ids));
    for (const post of posts) {
      const expected = ['happy', 'sad'].filter((t) => fixtures.idsByTag.get(t)?.includes(post.id));
      assert.deepEqual(new Set(post.topics), new Set(expected), `topics of ${post.id}`);
      assert.equal(post.source, 'backfill');
      assert.ok(post.label === 'happy' || post.label === 'sad');
      assert.doesNotMatch(post.text, /#(happy|sad)\b/);
    }
    // 95 posts per tag at 20 a page: 5 pages each, the last one short, so it ends the walk.
    assert.equal(standIn.requestLog.length, 10);
    // Fair turns: the tags alternate rather than one being drained first.
    assert.deepEqual(standIn.requestLog.slice(0, 6).map((r) => r.tag), ['happy', 'sad', 'happy', 'sad', 'happy', 'sad']);
    const produced = await app.registry.getSingleMetric('moodstream_ingester_duplicates_dropped_total')?.get();
    const duplicates = produced?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
    // Each full page is re-read from one second after its oldest post (the rest of that second may sit past
    // the page), so its boundary post comes again: 4 full pages a tag, dropped as duplicates like the overlap.
    assert.equal(duplicates, 95 * 2 - fixtures.ids.length + 4 * 2, 'every overlapping or re-read post was dropped once as a duplicate');
  } finally {
    await app.stop();
    await standIn.close();
    await bus.close();
  }
});

test('live: reads history once, picks up new posts on the next poll, resumes from the file store after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-live-'));
  const now = Math.floor(Date.now() / 1000);
  const fixtures = generateTaggedPosts({ tags: ['happy', 'sad'], perTag: 30, overlap: 0.2, newestTimestamp: now - 100, seed: 3 });
  const standIn = await startTumblrStandIn({ posts: fixtures.posts });
  const bus = createMemoryBus();
  const config = testConfig({ TUMBLR_API_URL: standIn.url, INGEST_POLL_INTERVAL_MS: '100' });
  const record = join(dir, 'recorded.ndjson');
  const startApp = () => {
    const app = createIngesterApp({ config, bus, logger: capturedLogger().logger, cursorStore: FileIngestStore.open(join(dir, 'state.jsonl')), run: { mode: 'live', tags: [] }, record });
    return app;
  };
  let app = startApp();
  try {
    await app.start();
    await waitFor(async () => (await readAll(bus)).length === fixtures.ids.length, 10_000, 'history');
    await app.stop();
    const callsAfterFirst = standIn.requestLog.length;

    // New posts while the ingester is down, and more after it is back.
    standIn.addPosts([buildPost({ id: 900000000000000001n, timestamp: now - 50, watched: ['happy'], format: 'npf' })]);
    app = startApp();
    await app.start();
    await waitFor(async () => (await readAll(bus)).length === fixtures.ids.length + 1, 10_000, 'the post published while down');
    standIn.addPosts([buildPost({ id: 900000000000000002n, timestamp: now - 10, watched: ['sad', 'happy'], format: 'legacy-photo' })]);
    await waitFor(async () => (await readAll(bus)).length === fixtures.ids.length + 2, 10_000, 'the post published while up');
    await app.stop();

    const posts = await readAll(bus);
    assert.equal(new Set(posts.map((p) => p.id)).size, posts.length, 'no id twice');
    assert.deepEqual(new Set(posts.find((p) => p.id === '900000000000000002')?.topics), new Set(['sad', 'happy']), 'one post, both topics');
    // After the restart no tag re-walked its history: every poll ended on its first (newest) page,
    // because that page already reached the saved newest timestamp.
    const afterRestart = standIn.requestLog.slice(callsAfterFirst);
    assert.ok(afterRestart.length >= 2);
    assert.ok(afterRestart.every((r) => r.before === null), `restart walked back: ${JSON.stringify(afterRestart.filter((r) => r.before !== null))}`);
    const recorded = readFileSync(record, 'utf8').trim().split('\n');
    assert.equal(recorded.length, posts.length, '--record tees every produced post');
  } finally {
    await app.stop();
    await standIn.close();
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('faults and bad posts: 429s, 5xx, malformed and slow answers are survived; bad posts counted; the key never logged', async () => {
  const SECRET = 'sup3r-secret-key-value';
  const fixtures = generateTaggedPosts({ tags: ['happy'], perTag: 60, newestTimestamp: 1_700_000_000, seed: 9 });
  const bad = badPosts('happy', 1_600_000_000);
  const standIn = await startTumblrStandIn({
    posts: [...fixtures.posts, ...bad.map((b) => b.post)],
    behaviours: {
      apiKey: SECRET,
      faults: [
        { kind: 'rate-limit', fromRequest: 2, count: 2, retryAfterSeconds: null },
        { kind: 'server-error', fromRequest: 4, status: 500 },
        { kind: 'malformed', fromRequest: 5, malformation: 'truncated-json' },
        { kind: 'slow', fromRequest: 6, delayMs: 300 },
      ],
    },
  });
  const bus = createMemoryBus();
  const { logger, lines } = capturedLogger();
  const app = createIngesterApp({
    config: testConfig({ TUMBLR_API_URL: standIn.url, TUMBLR_API_KEY: SECRET }),
    bus,
    logger,
    cursorStore: new MemoryIngestStore(),
    run: { mode: 'backfill', tags: ['happy'], from: 0, to: 1_700_000_001_000 },
  });
  try {
    await app.start();
    await app.done;
    const posts = await readAll(bus);
    const keptBad = bad.filter((b) => ['text-truncated', 'markup-removed', 'invalid-utf8'].includes(b.expect)).length;
    assert.equal(posts.length, 60 + keptBad);
    for (const post of posts) assert.doesNotMatch(post.text, /<script|onerror|\uFFFD/);
    const metricText = await app.registry.metrics();
    for (const reason of ['missing-id', 'bad-timestamp', 'bad-tags', 'too-few-english-words', 'missing-blog', 'bad-url']) {
      assert.match(metricText, new RegExp(`moodstream_ingester_posts_skipped_total\\{reason="${reason}"[^}]*\\} 1`), reason);
    }
    for (const reason of ['markup-removed', 'invalid-utf8', 'text-truncated']) {
      assert.match(metricText, new RegExp(`moodstream_ingester_posts_cleaned_total\\{reason="${reason}"[^}]*\\} 1`), reason);
    }
    assert.match(metricText, /moodstream_ingester_errors_total\{kind="rate-limited"[^}]*\} 2/);
    assert.match(metricText, /moodstream_ingester_errors_total\{kind="server"[^}]*\} 1/);
    assert.match(metricText, /moodstream_ingester_errors_total\{kind="response-not-json"[^}]*\} 1/);
    assert.match(metricText, /moodstream_ingester_budget_requests_left\{window="hour"/);
    assert.ok(lines.length > 3, 'something was logged');
    assert.ok(lines.every((line) => !line.includes(SECRET)), 'the API key never appears in a log line');
    assert.ok(!metricText.includes(SECRET));
  } finally {
    await app.stop();
    await standIn.close();
    await bus.close();
  }
});

test('an invalid key ends the run with TumblrAuthError and no retries', async () => {
  const standIn = await startTumblrStandIn({ posts: generateTaggedPosts({ tags: ['happy'], perTag: 5 }).posts });
  const bus = createMemoryBus();
  const { logger, lines } = capturedLogger();
  const app = createIngesterApp({ config: testConfig({ TUMBLR_API_URL: standIn.url, TUMBLR_API_KEY: 'not-the-key' }), bus, logger, cursorStore: new MemoryIngestStore() });
  try {
    await app.start();
    await assert.rejects(app.done, (e: unknown) => (e as Error).name === 'TumblrAuthError' && /rejected the API key/.test((e as Error).message));
    assert.equal(standIn.requestLog.length, 1);
    assert.ok(lines.every((l) => !l.includes('not-the-key')));
  } finally {
    await app.stop();
    await standIn.close();
    await bus.close();
  }
});

test('archive: replays an NDJSON file at N× real time and at max speed, dropping repeats and bad lines', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-archive-'));
  const file = join(dir, 'posts.ndjson');
  const base = { blog: 'b', url: 'https://b.tumblr.com/post/1', topics: ['happy'], tags: ['happy'], text: 'a good day', imageUrl: null, noteCount: null, source: 'live', label: 'happy', ingestedAt: 0 };
  const lines = [0, 200, 400, 600].map((offset, i) => JSON.stringify({ ...base, id: `a${i}`, timestamp: 1_700_000_000_000 + offset }));
  const schemaInvalid = JSON.stringify({ ...base, id: 'bad', timestamp: 1_700_000_000_100, url: 'javascript:alert(1)' });
  writeFileSync(file, [...lines.slice(0, 2), schemaInvalid, ...lines.slice(2), lines[1], 'not json', '{"id":"x"}', ''].join('\n'));
  try {
    for (const speed of [2, 'max'] as const) {
      const bus = createMemoryBus();
      const app = createIngesterApp({ config: testConfig(), bus, logger: capturedLogger().logger, run: { mode: 'archive', file, speed } });
      const started = Date.now();
      await app.start();
      await app.done;
      const elapsed = Date.now() - started;
      const posts = await readAll(bus);
      assert.deepEqual(posts.map((p) => p.id).sort(), ['a0', 'a1', 'a2', 'a3']);
      assert.ok(posts.every((p) => p.source === 'archive'));
      // 600 ms of post time at 2× is 300 ms of replay; at max there is no waiting.
      if (speed === 2) assert.ok(elapsed >= 280, `2× took ${elapsed} ms`);
      const text = await app.registry.metrics();
      assert.match(text, /moodstream_ingester_duplicates_dropped_total\{tag="happy"[^}]*\} 1/);
      assert.match(text, /moodstream_ingester_posts_skipped_total\{reason="archive-not-json"[^}]*\} 1/);
      assert.match(text, /moodstream_ingester_posts_skipped_total\{reason="archive-invalid-post"[^}]*\} 2/);
      await app.stop();
      await bus.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store failure after a batch reached the bus is reconciled in-process: no post twice, none lost', async () => {
  class FlakyStore extends MemoryIngestStore {
    failures = 0;
    override async commit(update: Parameters<MemoryIngestStore['commit']>[0]): Promise<void> {
      if (update.produced.length > 0 && this.failures < 2) {
        this.failures++;
        throw new Error('store unavailable');
      }
      return super.commit(update);
    }
  }
  const fixtures = generateTaggedPosts({ tags: ['happy'], perTag: 50, newestTimestamp: 1_700_000_000, seed: 11 });
  const standIn = await startTumblrStandIn({ posts: fixtures.posts });
  const bus = createMemoryBus();
  const store = new FlakyStore();
  const app = createIngesterApp({
    config: testConfig({ TUMBLR_API_URL: standIn.url }),
    bus,
    logger: capturedLogger().logger,
    cursorStore: store,
    run: { mode: 'backfill', tags: ['happy'], from: 0, to: 1_700_000_001_000 },
  });
  try {
    await app.start();
    await app.done;
    const ids = (await readAll(bus)).map((p) => p.id);
    assert.equal(store.failures, 2);
    assert.equal(ids.length, 50, 'each post once');
    assert.deepEqual(new Set(ids), new Set(fixtures.ids));
    const text = await app.registry.metrics();
    // The first failure is the page's own commit; the second hits the recovery, which is retried.
    assert.match(text, /moodstream_ingester_errors_total\{kind="pipeline"[^}]*\} 1/);
    assert.match(text, /moodstream_ingester_errors_total\{kind="store"[^}]*\} 1/);
  } finally {
    await app.stop();
    await standIn.close();
    await bus.close();
  }
});
