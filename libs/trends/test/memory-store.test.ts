import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '@moodstream/core';
import { trendsConfig } from '../src/config';
import { createMemoryTrendsStore, processLocalSeenTtlMs } from '../src/memory-store';
import { liveTopicsOf, planWrites } from '../src/plan';
import type { Retention } from '../src/store';
import { planWordShift } from '../src/word-shift';
import { scoredPost, T0, testAlert } from './fixtures';
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

test('memory store: the alert index forgets ids once their alerts expire (like the Redis index, which expires with them)', async () => {
  const clock = new VirtualClock(T0);
  const store = createMemoryTrendsStore({ clock });
  const retention: Retention = { bucketTtlMs: { '1m': DAY, '5m': DAY, '1h': DAY, '1d': DAY }, seenTtlMs: 60_000, examplesPerBucket: 3 };
  // A long run: an alert a minute, each kept an hour.
  for (let minute = 0; minute < 600; minute++) {
    assert.equal(await store.saveAlert(testAlert(`a${minute}`, clock.now()), 60 * 60_000), true);
    clock.advance(60_000);
    // The store sweeps on its writes (every 256).
    for (let i = 0; i < 5; i++) await store.apply('live', { groups: [], examples: [] }, retention);
  }
  const footprint = store.footprint();
  assert.ok(footprint.alerts <= 60 + 60, `alert bodies held: ${footprint.alerts}`);
  assert.ok(footprint.alertIds <= footprint.alerts, `ids in the alert index: ${footprint.alertIds} for ${footprint.alerts} live alerts`);
  const listed = await store.listAlerts('live', { limit: 1_000 });
  assert.ok(listed.length >= 59 && listed.length <= 60, `the last hour's alerts are listed: ${listed.length}`);
  // An id saved again after its alert expired is indexed once.
  clock.advance(2 * 60 * 60_000);
  assert.equal(await store.saveAlert(testAlert('a1', clock.now()), 60 * 60_000), true);
  assert.deepEqual((await store.listAlerts('live', { limit: 10 })).map((a) => a.id), ['a1']);
});
