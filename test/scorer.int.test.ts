import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KafkaBus } from '@moodstream/bus';
import { createLogger } from '@moodstream/core';
import { TOPICS, type PostInput } from '@moodstream/events';
import { createTestScorer, readScored, scorerTopicsOnKafka, testScorerConfig, waitFor } from '@moodstream/scorer/testing';
import { SPECIAL_IMAGES, startTumblrStandIn, type TumblrStandIn } from '@moodstream/tumblr';

const BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POSTS = 2_000;
const logger = createLogger('scorer-int-test', { level: process.env['LOG_LEVEL'] ?? 'warn' });

let standIn: TumblrStandIn;
before(async () => {
  standIn = await startTumblrStandIn();
  // The stand-in renders images on first request (the 8 MB noise JPEG takes seconds on a busy machine):
  // render them now so the scorer's fetch timeout measures the scorer, not the fixture.
  await Promise.all(
    Object.values(SPECIAL_IMAGES).map(async (name) => (await fetch(`${standIn.url}/images/${name}`)).arrayBuffer()),
  );
});
after(async () => {
  await standIn.close();
});

/** What each bad image must turn into: a text-only ScoredPost carrying this error code. */
interface PlannedPost {
  post: PostInput;
  expectImageError: string | null;
}

/**
 * 2,000 posts: mostly text, 100 with images. Most images are ordinary (12 distinct pictures, so
 * the feature cache is exercised); the rest fail in every way an image can.
 */
function plannedPosts(runId: string): PlannedPost[] {
  const bad: { url: string; code: string }[] = [
    ...Array.from({ length: 8 }, (_, k) => ({ url: `${standIn.url}/images/missing-${k}.jpg`, code: 'IMAGE_HTTP_STATUS' })),
    ...Array.from({ length: 3 }, () => ({ url: `${standIn.url}/images/${SPECIAL_IMAGES.huge}`, code: 'IMAGE_DECODE_FAILED' })),
    ...Array.from({ length: 3 }, () => ({ url: `${standIn.url}/images/${SPECIAL_IMAGES.notAnImage}`, code: 'IMAGE_NOT_AN_IMAGE' })),
    ...Array.from({ length: 2 }, () => ({ url: `${standIn.url}/images/${SPECIAL_IMAGES.heavy}`, code: 'IMAGE_TOO_LARGE' })),
    { url: `${standIn.url}/images/${SPECIAL_IMAGES.bomb}`, code: 'IMAGE_DECODE_FAILED' },
    // Never reachable from here, and must never be tried: refused before any connection.
    { url: 'http://10.0.0.1/x.jpg', code: 'IMAGE_FORBIDDEN_ADDRESS' },
  ];
  const texts = ['what a lovely sunny morning', 'this storm is terrifying', 'so angry about the delays', 'cannot believe it snowed', 'miss you so much', ''];
  let imageSlot = 0;
  // Recent timestamps: the record timestamp is the post's, and the broker's time-based retention
  // would delete months-old records within a minute, mid-test.
  const start = Date.now() - POSTS * 1_000;
  return Array.from({ length: POSTS }, (_, i) => {
    let imageUrl: string | null = null;
    let expectImageError: string | null = null;
    if (i % 20 === 7) {
      const special = bad[imageSlot];
      if (special !== undefined) {
        imageUrl = special.url;
        expectImageError = special.code;
      } else {
        imageUrl = imageSlot % 3 === 0 ? `${standIn.url}/images/pic-${imageSlot % 12}_320x240.jpg` : `${standIn.url}/images/pic-${imageSlot % 12}.jpg`;
      }
      imageSlot++;
    }
    const id = `${runId}-${i}`;
    const text = imageUrl === null && i % 97 === 0 ? 'x' : `${texts[i % texts.length]} #${i % 50}`;
    return {
      expectImageError,
      post: {
        id,
        blog: `blog-${i % 37}`,
        url: `https://blog-${i % 37}.tumblr.com/post/${id}`,
        timestamp: start + i * 1_000,
        topics: ['weather'],
        tags: ['weather'],
        text,
        imageUrl,
        noteCount: null,
        source: 'live',
        label: null,
        ingestedAt: start + i * 1_000 + 500,
      },
    };
  });
}

const kafkaFixture = (name: string) => scorerTopicsOnKafka(`test-${name}`, { brokers: BROKERS.split(','), logger, partitions: 3 });

async function produce(bus: KafkaBus, posts: PostInput[]): Promise<void> {
  const producer = await bus.producer();
  try {
    await producer.send(
      TOPICS.posts,
      'Post',
      posts.map((post) => ({ key: post.id, value: post, timestamp: post.timestamp })),
    );
  } finally {
    await producer.close();
  }
}

test('2,000 posts with hostile images: exactly one ScoredPost each, bad images scored on text, poison to the DLQ', { timeout: 240_000 }, async () => {
  const { bus, cleanup } = await kafkaFixture('scorer');
  const config = testScorerConfig({ KAFKA_BROKERS: BROKERS, SCORER_GROUP_ID: 'scorer', SCORER_WORKERS: '2' });
  const scorer = createTestScorer({ config, bus, logger });
  const { app, registry } = scorer;
  const reader = await readScored(bus, { maxBatchSize: 500 });
  try {
    await app.start();
    const planned = plannedPosts('once');
    await produce(bus, planned.map((p) => p.post));
    const producer = await bus.producer();
    await producer.sendRaw(TOPICS.posts, [{ key: 'poison', value: '{"id": "poison", "text": 42' }]);
    await producer.close();

    await waitFor(`${POSTS} distinct scored posts`, () => reader.byId.size >= POSTS, { timeoutMs: 180_000, pollMs: 50, scorer });
    await waitFor('the poison record in the dead-letter topic', () => app.stats().deadLetters === 1, { timeoutMs: 30_000, pollMs: 50, scorer });
    // Give any duplicate time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    assert.equal(reader.byId.size, POSTS);
    const duplicates = [...reader.byId].filter(([, list]) => list.length !== 1).map(([id]) => id);
    assert.deepEqual(duplicates, [], 'exactly one ScoredPost per post');
    for (const { post, expectImageError } of planned) {
      const [scored] = reader.byId.get(post.id) ?? [];
      assert.ok(scored !== undefined, `post ${post.id} was scored`);
      assert.equal(scored.topics[0], 'weather');
      assert.equal(scored.timestamp, post.timestamp);
      if (expectImageError !== null) {
        assert.equal(scored.modality, 'text', `${post.imageUrl} falls back to text`);
        assert.ok(scored.imageError?.startsWith(expectImageError), `${post.imageUrl}: expected ${expectImageError}, got ${scored.imageError}`);
        assert.equal(scored.explicit, null);
      } else if (post.imageUrl !== null && post.imageUrl !== undefined) {
        assert.equal(scored.imageError, null, `${post.imageUrl} should have been usable`);
        assert.equal(scored.modality, 'both');
        assert.ok(scored.explicit !== null && scored.explicit >= 0 && scored.explicit <= 1);
      } else {
        assert.equal(scored.modality, 'text');
        assert.equal(scored.imageError, null);
        assert.equal(scored.explicit, null);
      }
    }
    const usableImages = planned.filter((p) => p.post.imageUrl !== null && p.expectImageError === null).length;
    const stats = app.stats();
    assert.equal(stats.scored, POSTS);
    assert.ok(stats.cache.hitRate > 0.5, `the 12 repeated pictures should mostly hit the cache (rate ${stats.cache.hitRate})`);
    const metrics = await registry.metrics();
    for (const series of [
      /moodstream_scorer_batch_size_bucket\{/,
      /moodstream_scorer_stage_seconds_bucket\{[^}]*stage="backbone"/,
      /moodstream_scorer_stage_seconds_bucket\{[^}]*stage="fetch"/,
      /moodstream_scorer_posts_per_second\{[^}]*\} \d/,
      /moodstream_scorer_consumer_lag\{[^}]*\} \d/,
      /moodstream_scorer_feature_cache_hit_ratio\{[^}]*\} 0\.\d/,
      /moodstream_scorer_backend_info\{[^}]*backend="wasm"/,
      /moodstream_scorer_image_errors_total\{[^}]*code="IMAGE_FORBIDDEN_ADDRESS"[^}]*\} 1\n/,
      new RegExp(`moodstream_scorer_posts_scored_total\\{[^}]*modality="both"[^}]*\\} ${usableImages}\\n`),
    ]) {
      assert.match(metrics, series);
    }
    assert.match(metrics, /moodstream_scorer_dead_letters_total\{[^}]*\} 1\n/);
  } finally {
    await app.stop();
    await reader.stop();
    await cleanup();
  }
});

function spawnScorer(prefix: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/scorer/src/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      KAFKA_BROKERS: BROKERS,
      MOODSTREAM_TOPIC_PREFIX: prefix,
      SCORER_GROUP_ID: 'scorer',
      SCORER_IMAGE_ALLOWLIST: '127.0.0.1',
      SCORER_WORKERS: '1',
      SCORER_BATCH_SIZE: '16',
      // The restarted scorer gets the dead one's partitions once the broker gives up on it.
      SCORER_SESSION_TIMEOUT_MS: '8000',
      SCORER_METRICS_PORT: '0',
      LOG_LEVEL: process.env['SCORER_CHILD_LOG_LEVEL'] ?? 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

test('kill -9 mid-stream and a restart: every post scored at least once, none missing', { timeout: 240_000 }, async (t) => {
  const { bus, prefix, cleanup } = await kafkaFixture('scorer-kill');
  const reader = await readScored(bus, { maxBatchSize: 500 });
  const children: ChildProcess[] = [];
  try {
    const planned = plannedPosts('kill').map((p) => p.post);
    children.push(spawnScorer(prefix));
    // Half the posts wait as a backlog, so the kill lands while batches are in flight and uncommitted.
    await produce(bus, planned.slice(0, POSTS / 2));
    await waitFor('the first scorer to score 400 posts', () => reader.byId.size >= 400, { timeoutMs: 120_000, pollMs: 50 });
    const first = children[0]!;
    first.kill('SIGKILL');
    const [, signal] = (await once(first, 'exit')) as [number | null, NodeJS.Signals | null];
    assert.equal(signal, 'SIGKILL');
    const seenAtKill = reader.byId.size;
    assert.ok(seenAtKill < POSTS / 2, `the kill must land mid-stream (already ${seenAtKill} scored)`);
    // The rest keeps arriving while no scorer runs and while the next one starts.
    const producing = (async () => {
      for (let i = POSTS / 2; i < POSTS; i += 100) {
        await produce(bus, planned.slice(i, i + 100));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();

    const second = spawnScorer(prefix);
    children.push(second);
    await producing;
    await waitFor(`all ${POSTS} posts scored after the restart`, () => reader.byId.size >= POSTS, { timeoutMs: 180_000, pollMs: 50 }).catch((error: unknown) => {
      t.diagnostic(`scored ${reader.byId.size} of ${POSTS}; missing e.g. ${planned.filter((p) => !reader.byId.has(p.id)).slice(0, 5).map((p) => p.id).join(', ')}`);
      throw error;
    });
    const missing = planned.filter((p) => !reader.byId.has(p.id)).map((p) => p.id);
    assert.deepEqual(missing, []);
    const duplicates = [...reader.byId.values()].filter((list) => list.length > 1).length;
    t.diagnostic(`killed after ${seenAtKill} scored; ${duplicates} posts were scored twice (at-least-once redelivery)`);

    // The survivor shuts down gracefully on SIGTERM: finishes, commits and exits 0.
    second.kill('SIGTERM');
    const [code] = (await once(second, 'exit')) as [number | null];
    assert.equal(code, 0);
  } finally {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await reader.stop();
    await cleanup();
  }
});
