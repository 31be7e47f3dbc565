import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '@moodstream/core';
import { trendsConfig } from '../src/config';
import { createMemoryTrendsStore, processLocalSeenTtlMs } from '../src/memory-store';
import { liveTopicsOf, planWrites } from '../src/plan';
import type { Retention } from '../src/store';
import { planWordShift } from '../src/word-shift';
import { scoredPost, T0 } from './fixtures';
import { storeContract } from './store-contract';

const DAY = 86_400_000;

storeContract('memory', async () => ({ store: createMemoryTrendsStore(), cleanup: async () => undefined }));

test('memory store: maxSeenTtlMs bounds how long post ids are remembered, in the buckets and the word-shift tables', async () => {
  const clock = new VirtualClock(T0);
  const maxSeenTtlMs = processLocalSeenTtlMs(trendsConfig());
  assert.equal(maxSeenTtlMs, 13 * 60_000, 'lateness 10 min + idle watermark lag 2 min + the bucket');
  const store = createMemoryTrendsStore({ clock, maxSeenTtlMs });
  const retention: Retention = { bucketTtlMs: { '1m': DAY, '5m': DAY, '1h': DAY, '1d': DAY }, seenTtlMs: 43 * 60_000, examplesPerBucket: 3 };
  const post = scoredPost({ postId: 'a', timestamp: T0 + 5_000, topics: ['cats'], text: 'rain again today' });
  const plan = planWrites([post], { topicsOf: liveTopicsOf, candidatesPerBucket: 3 });
  const words = planWordShift([post], liveTopicsOf);
  const settings = { retention, maxTerms: 100 };
  assert.deepEqual((await store.apply('ns', plan, retention)).added, [1, 1], 'cats and all');
  await store.wordShift.apply('ns', words, settings);
  clock.advance(maxSeenTtlMs - 60_000);
  assert.deepEqual((await store.apply('ns', plan, retention)).added, [0, 0], 'a redelivery within the bound is still deduplicated');
  clock.advance(maxSeenTtlMs + 1);
  // Each store sweeps expired entries every 256 writes.
  for (let i = 0; i < 256; i++) {
    await store.apply('other', { groups: [], examples: [] }, retention);
    await store.wordShift.apply('other', [], settings);
  }
  const footprint = store.footprint();
  assert.equal(footprint.seenIds, 0, 'ids forgotten after the bound, not after the 43 minutes asked for');
  assert.equal(footprint.wordShiftSeenIds, 0);
  assert.ok(footprint.buckets > 0 && footprint.wordShiftTables > 0, 'buckets and tables keep their own (day-long) retention');
});
