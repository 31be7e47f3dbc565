import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, parseConfig } from '@moodstream/core';
import { createIngesterApp, IngesterConfigSchema } from '@moodstream/ingester';
import { createTestScorer, readScored, scorerTopicsOnKafka, testScorerConfig, waitFor } from '@moodstream/scorer/testing';
import { MemoryIngestStore, buildPost, imageBlock, npfPost, startTumblrStandIn, textBlock } from '@moodstream/tumblr';

const BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const logger = createLogger('ingester-image-only-int', { level: process.env['LOG_LEVEL'] ?? 'warn' });

/**
 * Image-only posts end to end on the real broker: the ingester reads them from the stand-in (an NPF image block
 * alone, a legacy photo without caption, a caption of only the emotion hashtag), produces them to Kafka, and the
 * scorer scores them on the image alone. A text post rides along as the control.
 */
test('image-only posts pass the ingester and are scored image-only by the scorer on Kafka', { timeout: 180_000 }, async () => {
  const { bus, cleanup } = await scorerTopicsOnKafka('it-ingest-image-only', { brokers: BROKERS.split(','), logger, partitions: 1 });
  const now = Math.floor(Date.now() / 1000) - 60;
  const npfOnly = npfPost({ id: 730_000_000_000_000_001n, timestamp: now, tags: ['happy'], content: [imageBlock('imgonly1')] });
  const photoNoCaption = { ...buildPost({ id: 730_000_000_000_000_002n, timestamp: now - 10, watched: ['happy'], format: 'legacy-photo' }), caption: '' };
  const hashtagOnly = buildPost({ id: 730_000_000_000_000_003n, timestamp: now - 20, watched: ['happy'], format: 'legacy-photo', text: '<p>#happy</p>' });
  const control = npfPost({ id: 730_000_000_000_000_004n, timestamp: now - 30, tags: ['happy'], content: [textBlock('what a lovely sunny morning with my friends at the lake')] });
  const nothing = npfPost({ id: 730_000_000_000_000_005n, timestamp: now - 40, tags: ['happy'], content: [textBlock(' ')] });
  const standIn = await startTumblrStandIn({ posts: [npfOnly, photoNoCaption, hashtagOnly, control, nothing] });
  const config = parseConfig(IngesterConfigSchema, { TUMBLR_API_KEY: 'standin-key', TUMBLR_API_URL: standIn.url, INGEST_STORE: 'memory', KAFKA_BROKERS: BROKERS });
  const ingester = createIngesterApp({
    config,
    bus,
    logger,
    cursorStore: new MemoryIngestStore(),
    run: { mode: 'backfill', tags: ['happy'], from: (now - 3600) * 1000, to: (now + 1) * 1000 },
  });
  const scorer = createTestScorer({ config: testScorerConfig({ KAFKA_BROKERS: BROKERS, SCORER_GROUP_ID: 'scorer', SCORER_WORKERS: '1' }), bus, logger });
  const reader = await readScored(bus);
  try {
    await scorer.app.start();
    await ingester.start();
    await ingester.done;
    assert.equal(ingester.stats().produced, 4, 'four posts produced; the one with neither words nor picture skipped');
    assert.match(await ingester.registry.metrics(), /moodstream_ingester_posts_skipped_total\{reason="no-content"[^}]*\} 1/);
    await waitFor('four scored posts', () => reader.byId.size >= 4, { timeoutMs: 120_000, pollMs: 50, scorer });
    for (const id of ['730000000000000001', '730000000000000002', '730000000000000003']) {
      const [scored] = reader.byId.get(id) ?? [];
      assert.ok(scored !== undefined, `${id} scored`);
      assert.equal(scored.imageError, null, `${id}: its image was usable`);
      assert.equal(scored.modality, 'image', `${id} scored on its image alone`);
    }
    assert.equal(reader.byId.get('730000000000000004')?.[0]?.modality, 'text');
    process.stdout.write(`# image-only: ${[...reader.byId.values()].map((l) => `${l[0]?.postId}=${l[0]?.modality}`).join(' ')}\n`);
  } finally {
    await ingester.stop();
    await scorer.app.stop();
    await reader.stop();
    await standIn.close();
    await cleanup();
  }
});
