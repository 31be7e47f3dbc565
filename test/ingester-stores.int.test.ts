import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createKafkaBus } from '@moodstream/bus';
import { createLogger, parseConfig } from '@moodstream/core';
import { PostSchema, TOPICS, type Post } from '@moodstream/events';
import { createIngesterApp, IngesterConfigSchema } from '@moodstream/ingester';
import { RedisIngestStore, generateTaggedPosts, parseTumblrPost, startTumblrStandIn } from '@moodstream/tumblr';
import { BROKERS, REDIS_URL, spawnIngester } from './support/ingester-harness';
const quietLogger = () => createLogger('ingester-int', { level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

test('redis store: cursors, produced ids, pending batch and budget persist; a commit is atomic', async () => {
  const prefix = `it-ingest-store-${randomBytes(4).toString('hex')}`;
  const store = await RedisIngestStore.connect({ url: REDIS_URL, prefix, maxProduced: 3 });
  try {
    await store.setPending({ cursorKey: 'live:happy', cursor: { newestTs: 5, newestIds: ['a'], walk: null }, ids: ['a'], posts: [], minTs: 1, maxTs: 5 });
    const reopened = await RedisIngestStore.connect({ url: REDIS_URL, prefix });
    assert.deepEqual((await reopened.getPending())?.ids, ['a']);
    await store.commit({ cursorKey: 'live:happy', cursor: { newestTs: 5, newestIds: ['a'], walk: null }, produced: [1, 2, 3, 4].map((n) => ({ id: `p${n}`, ts: n })) });
    assert.equal(await reopened.getPending(), null);
    assert.deepEqual(await reopened.seen(['p1', 'p2', 'p3', 'p4', 'zz']), new Set(['p2', 'p3', 'p4']), 'bounded, oldest evicted');
    assert.equal((await reopened.getCursor('live:happy'))?.newestTs, 5);
    await store.saveBudget({ buckets: { perHour: { tokens: 2, updatedAt: 7 } }, pausedUntil: 11 });
    assert.equal((await reopened.getBudget())?.pausedUntil, 11);
    await reopened.close();
  } finally {
    await store.destroy();
    await store.close();
  }
});

test('a batch interrupted between produce and commit is reconciled with Kafka: the missing half is produced, nothing twice', async () => {
  const run = randomBytes(4).toString('hex');
  const topicPrefix = `it-ingest-rec-${run}-`;
  const redisPrefix = `it-ingest-rec-${run}`;
  const bus = createKafkaBus({ brokers: BROKERS.split(','), clientId: `it-ingest-rec-${run}`, topicPrefix });
  const store = await RedisIngestStore.connect({ url: REDIS_URL, prefix: redisPrefix });
  const standIn = await startTumblrStandIn({ posts: [] });
  try {
    const newest = Math.floor(Date.now() / 1000) - 30;
    const { posts: raw } = generateTaggedPosts({ tags: ['happy'], perTag: 20, newestTimestamp: newest });
    const posts: Post[] = raw.map((r) => {
      const parsed = parseTumblrPost(JSON.parse(JSON.stringify(r).replaceAll('{{base}}', 'http://img.test')), { foundUnder: 'happy', watchedTopics: new Set(['happy']), source: 'live', ingestedAt: Date.now(), minEnglishWords: 0 });
      assert.ok(parsed.ok);
      return parsed.post;
    });
    // The state a kill -9 leaves: the batch written ahead, half of it acknowledged by Kafka, no commit.
    await bus.ensureTopics([{ name: TOPICS.posts }]);
    const producer = await bus.producer();
    await producer.send(TOPICS.posts, 'Post', posts.slice(0, 10).map((p) => ({ key: p.id, value: p, timestamp: p.timestamp })));
    await producer.close();
    const cursor = { newestTs: posts[0]?.timestamp ?? 0, newestIds: [posts[0]?.id ?? ''], walk: null };
    await store.setPending({ cursorKey: 'live:happy', cursor, ids: posts.map((p) => p.id), posts, minTs: Math.min(...posts.map((p) => p.timestamp)), maxTs: Math.max(...posts.map((p) => p.timestamp)) });

    const config = parseConfig(IngesterConfigSchema, { TUMBLR_API_KEY: 'standin-key', TUMBLR_API_URL: standIn.url, INGEST_STORE: 'redis', INGEST_POLL_INTERVAL_MS: '60000' });
    const app = createIngesterApp({ config, bus, logger: quietLogger(), cursorStore: store, run: { mode: 'live', tags: ['happy'] } });
    await app.start();
    await app.stop();

    const ids: string[] = [];
    for await (const batch of bus.readByTime({ topic: TOPICS.posts, eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })) ids.push(...batch.map((r) => r.value.id));
    assert.equal(ids.length, 20, 'the 10 missing posts were produced, the 10 present ones were not repeated');
    assert.deepEqual(new Set(ids), new Set(posts.map((p) => p.id)));
    assert.equal(await store.getPending(), null);
    assert.deepEqual((await store.getCursor('live:happy'))?.newestIds, cursor.newestIds, 'the cursor of the batch was committed');
    assert.equal((await store.seen(posts.map((p) => p.id))).size, 20);
    assert.ok(PostSchema.safeParse(posts[0]).success);
  } finally {
    await standIn.close();
    await bus.deleteTopics([TOPICS.posts]).catch(() => undefined);
    await bus.close();
    await store.destroy();
    await store.close();
  }
});

async function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const ingester = spawnIngester(args, { ...process.env, ...env });
  const code = await ingester.exited;
  return { code, stdout: ingester.stdout(), stderr: ingester.stderr() };
}

test('CLI: an invalid key prints one clear line and exits non-zero, without the key anywhere', async () => {
  const standIn = await startTumblrStandIn({ posts: generateTaggedPosts({ tags: ['happy'], perTag: 3 }).posts });
  const prefix = `it-ingest-cli-${randomBytes(4).toString('hex')}-`;
  try {
    const badKey = 'this-key-is-wrong-and-secret';
    const result = await runCli(['live', '--tag', 'happy'], {
      TUMBLR_API_KEY: badKey,
      TUMBLR_API_URL: standIn.url,
      KAFKA_BROKERS: BROKERS,
      MOODSTREAM_TOPIC_PREFIX: prefix,
      INGEST_STORE: 'memory',
      METRICS_PORT: '0',
    });
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
    assert.match(lines[0] ?? '', /^ingester: Tumblr rejected the API key \(HTTP 401\): check TUMBLR_API_KEY$/);
    assert.ok(!(result.stdout + result.stderr).includes(badKey), 'the key is never printed');
    const missing = await runCli(['backfill', '--tag', 'x', '--from', '2026-01-01T00:00:00Z'], { TUMBLR_API_KEY: '' , INGEST_STORE: 'memory' });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    const help = await runCli(['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /archive\s+--file posts\.ndjson \[--speed N\|max\]/);
  } finally {
    await standIn.close();
    const bus = createKafkaBus({ brokers: BROKERS.split(','), clientId: 'it-ingest-cli-cleanup', topicPrefix: prefix });
    await bus.deleteTopics([TOPICS.posts]).catch(() => undefined);
    await bus.close();
  }
});
