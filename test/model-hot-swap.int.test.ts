import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaBus } from '@moodstream/bus';
import { createLogger } from '@moodstream/core';
import { TOPICS, type PostInput } from '@moodstream/events';
import { DEFAULT_MODEL_DIR, ModelRegistry } from '@moodstream/model';
import { createTestScorer, readScored, scorerTopicsOnKafka, testScorerConfig, waitFor } from '@moodstream/scorer/testing';

const BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const POSTS = 20_000;
const logger = createLogger('model-hot-swap-test', { level: process.env['LOG_LEVEL'] ?? 'warn' });

let dir: string;
/** Two copies of the shipped model under two version names: what is swapped is the version a ScoredPost carries. */
async function modelCopy(version: string, into: string): Promise<string> {
  await cp(DEFAULT_MODEL_DIR, into, { recursive: true });
  const config = JSON.parse(await readFile(path.join(into, 'config.json'), 'utf8')) as { version: string };
  config.version = version;
  await writeFile(path.join(into, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  return into;
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hot-swap-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function posts(): PostInput[] {
  const texts = ['what a lovely sunny morning', 'this storm is terrifying', 'so angry about the delays', 'cannot believe it snowed', 'miss you so much'];
  // Recent timestamps: the broker's time-based retention would delete months-old records mid-test.
  const start = Date.now() - POSTS * 100;
  return Array.from({ length: POSTS }, (_, i) => ({
    id: `swap-${i}`,
    blog: `blog-${i % 37}`,
    url: `https://blog-${i % 37}.tumblr.com/post/swap-${i}`,
    timestamp: start + i * 100,
    topics: ['weather'],
    tags: ['weather'],
    text: `${texts[i % texts.length]} ${i % 101}`,
    imageUrl: null,
    noteCount: null,
    source: 'live',
    label: null,
    ingestedAt: start + i * 100 + 50,
  }));
}

/** Where each post landed in the posts topic: versions must be monotonic in offset order within a partition. */
async function inputPositions(bus: KafkaBus): Promise<{ positions: Map<string, { partition: number; offset: bigint }>; stop: () => Promise<void> }> {
  const positions = new Map<string, { partition: number; offset: bigint }>();
  const consumer = bus.consumer({
    groupId: 'posts-reader',
    topics: [TOPICS.posts],
    eventType: 'Post',
    deadLetterTopic: TOPICS.deadLetter,
    fromBeginning: true,
    maxBatchSize: 2_000,
    handler: async (records) => {
      for (const r of records) positions.set(r.value.id, { partition: r.partition, offset: BigInt(r.offset) });
    },
  });
  await consumer.start();
  return { positions, stop: () => consumer.stop() };
}

test('hot swap under load: 20,000 posts, a promotion in the middle, one ScoredPost each, versions switch once and monotonically per partition', { timeout: 900_000 }, async () => {
  const { bus, cleanup } = await scorerTopicsOnKafka('test-hot-swap', { brokers: BROKERS.split(','), logger, partitions: 3 });
  const registry = new ModelRegistry(path.join(dir, 'registry'));
  const first = await modelCopy('hot-swap-a', path.join(dir, 'a'));
  await modelCopy('hot-swap-b', path.join(dir, 'staging-b'));
  await registry.add('hot-swap-b', path.join(dir, 'staging-b'));
  const config = testScorerConfig({
    KAFKA_BROKERS: BROKERS,
    SCORER_GROUP_ID: 'scorer',
    SCORER_WORKERS: '0',
    SCORER_MODEL_DIR: first,
    SCORER_MODEL_REGISTRY: registry.root,
    SCORER_MODEL_POLL_MS: '200',
  });
  const scorer = createTestScorer({ config, bus, logger });
  const reader = await readScored(bus, { maxBatchSize: 2_000 });
  const input = await inputPositions(bus);
  try {
    await scorer.app.start();
    assert.equal(scorer.app.stats().engine?.modelVersion, 'hot-swap-a', 'nothing promoted yet: the configured model serves');
    const all = posts();
    const producer = await bus.producer();
    try {
      for (let i = 0; i < all.length; i += 2_000) {
        await producer.send(TOPICS.posts, 'Post', all.slice(i, i + 2_000).map((post) => ({ key: post.id, value: post, timestamp: post.timestamp })));
      }
    } finally {
      await producer.close();
    }
    await waitFor('a quarter of the posts scored', () => reader.byId.size >= POSTS / 4, { timeoutMs: 600_000, pollMs: 20, scorer });
    await registry.promote('hot-swap-b', 'test: promotion under load');
    await waitFor(`${POSTS} distinct scored posts`, () => reader.byId.size >= POSTS, { timeoutMs: 600_000, pollMs: 50, scorer });
    await waitFor('every input position read', () => input.positions.size >= POSTS, { timeoutMs: 60_000, pollMs: 50 });
    // Give a duplicate (a batch scored twice) time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    assert.equal(reader.byId.size, POSTS);
    const duplicates = [...reader.byId.values()].filter((list) => list.length !== 1).length;
    assert.equal(duplicates, 0, `${duplicates} posts scored more than once`);
    const versionOf = (id: string) => reader.byId.get(id)![0]!.modelVersion;
    const counts = new Map<string, number>();
    for (const id of reader.byId.keys()) counts.set(versionOf(id), (counts.get(versionOf(id)) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), ['hot-swap-a', 'hot-swap-b'], `versions seen: ${JSON.stringify([...counts])}`);
    assert.ok(counts.get('hot-swap-a')! >= POSTS / 4, `posts scored before the promotion: ${counts.get('hot-swap-a')}`);

    const byPartition = new Map<number, Array<{ offset: bigint; version: string }>>();
    for (const [id, pos] of input.positions) {
      const list = byPartition.get(pos.partition) ?? [];
      list.push({ offset: pos.offset, version: versionOf(id) });
      byPartition.set(pos.partition, list);
    }
    assert.equal(byPartition.size, 3);
    for (const [partition, list] of byPartition) {
      list.sort((x, y) => (x.offset < y.offset ? -1 : x.offset > y.offset ? 1 : 0));
      const switches = list.filter((x, i) => i > 0 && x.version !== list[i - 1]!.version).length;
      assert.equal(list[0]!.version, 'hot-swap-a', `partition ${partition} starts on the first version`);
      assert.ok(switches <= 1 && list.at(-1)!.version === (switches === 1 ? 'hot-swap-b' : 'hot-swap-a'), `partition ${partition}: ${switches} version switches`);
    }
    assert.ok([...byPartition.values()].some((list) => list.at(-1)!.version === 'hot-swap-b'), 'the promoted version scored posts');
    assert.equal(scorer.app.stats().engine?.modelVersion, 'hot-swap-b');
    assert.equal(scorer.fatal(), null);
  } finally {
    await scorer.app.stop();
    await input.stop();
    await reader.stop();
    await bus.deleteGroups(['posts-reader']).catch(() => undefined);
    await cleanup();
  }
});
