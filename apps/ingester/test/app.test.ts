import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '@moodstream/bus';
import { TOPICS, type Post } from '@moodstream/events';
import { MemoryIngestStore, badPosts, generateTaggedPosts, startTumblrStandIn } from '@moodstream/tumblr';
import { createIngesterApp } from '../src/app';
import { capturedLogger, testConfig } from './helpers';

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
    const produced = await app.registry.getSingleMetric('moodstream_ingester_duplicates_dropped_total')?.get();
    const duplicates = produced?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
    assert.equal(duplicates, 95 * 2 - fixtures.ids.length, 'every overlapping post was dropped once as a duplicate');
  } finally {
    await app.stop();
    await standIn.close();
    await bus.close();
  }
});
