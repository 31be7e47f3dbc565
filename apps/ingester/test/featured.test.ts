import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '@moodstream/bus';
import { TOPICS, type Post } from '@moodstream/events';
import { MemoryIngestStore, generateTaggedPosts, startTumblrStandIn } from '@moodstream/tumblr';
import { createIngesterApp } from '../src/app';
import { capturedLogger, testConfig } from './helpers';

async function readAll(bus: ReturnType<typeof createMemoryBus>): Promise<Post[]> {
  const posts: Post[] = [];
  for await (const batch of bus.readByTime({ topic: TOPICS.posts, eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })) posts.push(...batch.map((r) => r.value));
  return posts;
}

/**
 * A featured tag lists posts by when they were featured, not made: here in the reverse of their creation order,
 * all featured after the newest was made. Paging by `timestamp` would ask for "featured before the oldest post was
 * made" on the second page and find nothing.
 */
function featuredFixtures(count: number, newest: number) {
  const fixtures = generateTaggedPosts({ tags: ['art'], perTag: count, overlap: 0, seed: 11, newestTimestamp: newest, spacingSeconds: 60 });
  fixtures.posts.forEach((post, i) => {
    post['featured_timestamp'] = newest + 10_000 + i * 7;
  });
  return fixtures;
}

test('a featured tag is paged by featured_timestamp: every post read once, each `before` a featured time', async () => {
  const newest = 1_700_000_000;
  const fixtures = featuredFixtures(70, newest);
  const standIn = await startTumblrStandIn({ posts: fixtures.posts, behaviours: { featuredTags: ['art'] } });
  const bus = createMemoryBus();
  const app = createIngesterApp({
    config: testConfig({ TUMBLR_API_URL: standIn.url, INGEST_MIN_ENGLISH_WORDS: '0' }),
    bus,
    logger: capturedLogger().logger,
    cursorStore: new MemoryIngestStore(),
    run: { mode: 'backfill', tags: ['art'], from: (newest - 86_400) * 1000, to: (newest + 86_400) * 1000 },
  });
  try {
    await app.start();
    await app.done;
    const ids = (await readAll(bus)).map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'no post twice');
    assert.deepEqual(new Set(ids), new Set(fixtures.ids), 'every featured post read');
    const featuredTimes = new Set(fixtures.posts.map((p) => p['featured_timestamp'] as number));
    const befores = standIn.requestLog.map((r) => r.before).filter((b): b is number => b !== null && b < newest + 86_400);
    assert.ok(befores.length >= 3, `paged: ${JSON.stringify(standIn.requestLog.map((r) => r.before))}`);
    // A page is re-read from one second after its oldest featured time (`before` is strict).
    for (const before of befores) assert.ok(featuredTimes.has(before - 1), `before=${before} is one second after a featured_timestamp`);
  } finally {
    await app.stop();
    await standIn.close();
    await bus.close();
  }
});

test('live on a featured tag: a later poll finds the newly featured posts, nothing twice', async () => {
  const now = Math.floor(Date.now() / 1000);
  const fixtures = featuredFixtures(45, now - 50_000);
  const standIn = await startTumblrStandIn({ posts: fixtures.posts, behaviours: { featuredTags: ['art'] } });
  const bus = createMemoryBus();
  const app = createIngesterApp({
    config: testConfig({ TUMBLR_API_URL: standIn.url, INGEST_MIN_ENGLISH_WORDS: '0', INGEST_TOPICS: 'art', INGEST_POLL_INTERVAL_MS: '100' }),
    bus,
    logger: capturedLogger().logger,
    cursorStore: new MemoryIngestStore(),
    run: { mode: 'live', tags: ['art'] },
  });
  try {
    await app.start();
    const deadline = Date.now() + 10_000;
    while ((await readAll(bus)).length < fixtures.ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // An old post featured just now: made long before the cursor's newest featured time.
    const late = featuredFixtures(1, now - 90_000).posts[0] as Record<string, unknown>;
    late['id_string'] = '712345678901299999';
    late['id'] = Number(late['id_string']);
    late['featured_timestamp'] = now - 5;
    standIn.addPosts([late]);
    while ((await readAll(bus)).length < fixtures.ids.length + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const ids = (await readAll(bus)).map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'no post twice');
    assert.ok(ids.includes('712345678901299999'), 'the newly featured post was found');
    assert.equal(ids.length, fixtures.ids.length + 1);
  } finally {
    await app.stop();
    await standIn.close();
    await bus.close();
  }
});
