import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetricsRegistry, VirtualClock, type Logger } from '@moodstream/core';
import { trendsConfig } from '../src/config';
import type { HistoryEviction } from '../src/memory-history';
import { reportedHistoryBudget } from '../src/memory-history-report';
import { createMemoryTrendsStore, processLocalSeenTtlMs, protectedHistoryMs, type MemoryTrendsStore } from '../src/memory-store';
import { liveTopicsOf, planWrites } from '../src/plan';
import type { Retention } from '../src/store';
import { planWordShift } from '../src/word-shift';
import { scoredPost, T0 } from './fixtures';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
// The embedded mode's retention: 1-minute buckets a day, the rest as deployed.
const retention: Retention = { bucketTtlMs: { '1m': DAY, '5m': 14 * DAY, '1h': 90 * DAY, '1d': 730 * DAY }, seenTtlMs: 43 * MINUTE, examplesPerBucket: 20 };
const settings = { retention, maxTerms: 2_000 };

/** `minutes` of a stream with new words every minute (as real text has): 30 posts in ten batches a minute. */
async function run(store: MemoryTrendsStore, clock: VirtualClock, minutes: number): Promise<void> {
  for (let minute = 0; minute < minutes; minute++) {
    for (let batch = 0; batch < 10; batch++) {
      const posts = Array.from({ length: 3 }, (_, i) => {
        const n = batch * 3 + i;
        const text = Array.from({ length: 4 }, (_, w) => `m${minute}p${n}w${w}`).join(' ');
        return scoredPost({ postId: `p${minute}-${n}`, timestamp: clock.now(), topics: ['cats'], text });
      });
      await store.apply('live', planWrites(posts, { topicsOf: liveTopicsOf, candidatesPerBucket: 20 }), retention);
      await store.wordShift.apply('live', planWordShift(posts, liveTopicsOf), settings);
      clock.advance(MINUTE / 10);
    }
  }
}

test('memory store: protectedHistoryMs covers the alert baseline, the lateness and the watermark lag', () => {
  assert.equal(protectedHistoryMs(trendsConfig()), 23 * MINUTE, '11 one-minute windows + 10 min lateness + 2 min lag');
  assert.equal(protectedHistoryMs(trendsConfig({ TRENDS_ALERT_WINDOW: '5m' })), 67 * MINUTE);
});

test('memory store: a history budget bounds the estimate, dropping the oldest 1-minute detail first and keeping the counts', async () => {
  const config = trendsConfig();
  // About 200 KB of history a minute; 1 MB of it written at the 1-hour and 1-day sizes, always recent.
  const budgetBytes = 6 * 1024 * 1024;
  const keepMs = 10 * MINUTE;
  const evictions: HistoryEviction[] = [];
  const clock = new VirtualClock(T0);
  const store = createMemoryTrendsStore({ clock, maxSeenTtlMs: processLocalSeenTtlMs(config), history: { budgetBytes, keepMs, onEvict: (e) => evictions.push(e) } });
  const unbounded = createMemoryTrendsStore({ clock: new VirtualClock(T0), maxSeenTtlMs: processLocalSeenTtlMs(config) });
  await run(store, clock, 120);
  await run(unbounded, new VirtualClock(T0), 120);

  const kept = store.footprint().historyBytes;
  const grown = unbounded.footprint().historyBytes;
  assert.ok(grown > 3 * budgetBytes, `without a budget the history grows: ${grown} bytes`);
  // Checked every 256 writes: at most that much over between checks.
  assert.ok(kept <= budgetBytes * 1.15, `kept ${kept} bytes for a budget of ${budgetBytes}`);
  assert.ok(evictions.length > 0, 'the store says when it drops history');
  const first = evictions[0]!;
  assert.ok(first.afterBytes <= budgetBytes * 0.9 && first.beforeBytes > budgetBytes, JSON.stringify(first));
  assert.deepEqual(Object.keys(first.dropped.detail), ['1m'], 'the finest size goes first');
  assert.deepEqual(first.dropped.counts, {}, 'counts stay while there is detail to drop');
  assert.equal(first.overBudget, false);

  // The first minute: its counts are still charted, its word shift and examples are gone.
  const oldest = { topic: 'cats', size: '1m' as const, start: T0 };
  assert.equal((await store.readBuckets('live', [oldest]))[0]?.count, 30);
  assert.deepEqual(await store.examples('live', oldest, null, 5), []);
  assert.equal((await store.wordShift.readTables('live', [oldest]))[0], null);
  // What the alert detector reads (the protected last minutes) is all there.
  const recent = { topic: 'cats', size: '1m' as const, start: clock.now() - keepMs + 2 * MINUTE };
  assert.ok((await store.wordShift.readTables('live', [recent]))[0] !== null, 'recent word-shift tables kept');
  assert.equal((await store.examples('live', recent, null, 5)).length, 5, 'recent examples kept');
});

test('memory store: a budget smaller than the protected history keeps that history and says so', async () => {
  const evictions: HistoryEviction[] = [];
  const clock = new VirtualClock(T0);
  const store = createMemoryTrendsStore({ clock, history: { budgetBytes: 64 * 1024, keepMs: 30 * MINUTE, onEvict: (e) => evictions.push(e) } });
  await run(store, clock, 60);
  const last = evictions.at(-1)!;
  assert.equal(last.overBudget, true);
  assert.ok(last.droppedUpTo === null || last.droppedUpTo < clock.now() - 30 * MINUTE, 'nothing written in the last 30 minutes was dropped');
  const recent = { topic: 'cats', size: '1m' as const, start: clock.now() - 25 * MINUTE };
  assert.ok((await store.wordShift.readTables('live', [recent]))[0] !== null);
});

test('memory store: evictions are counted by tier and size, the estimate is a gauge, the first eviction a warning', async () => {
  const lines: { level: string; msg: string }[] = [];
  const logger = { warn: (_: unknown, msg: string) => lines.push({ level: 'warn', msg }), info: (_: unknown, msg: string) => lines.push({ level: 'info', msg }) } as unknown as Logger;
  const registry = createMetricsRegistry('test', { defaultMetrics: false });
  const clock = new VirtualClock(T0);
  let store: MemoryTrendsStore | null = null;
  const history = reportedHistoryBudget({ budgetBytes: 4 * 1024 * 1024, keepMs: 5 * MINUTE, registry, logger, historyBytes: () => store?.footprint().historyBytes ?? null, setting: 'MEMORY_TRENDS_HISTORY_MB' });
  store = createMemoryTrendsStore({ clock, history });
  await run(store, clock, 60);
  const text = await registry.metrics();
  const evicted = Number(/moodstream_trends_memory_history_evicted_total\{tier="detail",size="1m",service="test"\} (\d+)/.exec(text)?.[1]);
  assert.ok(evicted > 0, text);
  const gauge = Number(/moodstream_trends_memory_history_bytes\{service="test"\} (\d+)/.exec(text)?.[1]);
  assert.equal(gauge, store.footprint().historyBytes);
  assert.match(text, /moodstream_trends_memory_history_budget_bytes\{service="test"\} 4194304/);
  assert.equal(lines[0]?.level, 'warn');
  assert.match(lines[0]?.msg ?? '', /MEMORY_TRENDS_HISTORY_MB/);
  assert.ok(lines.length > 1 && lines.slice(1).every((line) => line.level === 'info'), JSON.stringify(lines));
});

test('memory store: "oldest" is by event time, so history replayed all at once (the demo at start) is not all protected', async () => {
  const evictions: HistoryEviction[] = [];
  const clock = new VirtualClock(T0 + 120 * MINUTE);
  const store = createMemoryTrendsStore({ clock, history: { budgetBytes: 6 * 1024 * 1024, keepMs: 10 * MINUTE, onEvict: (e) => evictions.push(e) } });
  // Two hours of posts written in 20 minutes (a second a batch): by write time, the last 10 minutes' writes (half of
  // it) would all be protected.
  const events = new VirtualClock(T0);
  for (let minute = 0; minute < 120; minute++) {
    for (let batch = 0; batch < 10; batch++) {
      const posts = Array.from({ length: 3 }, (_, i) => {
        const n = batch * 3 + i;
        return scoredPost({ postId: `p${minute}-${n}`, timestamp: events.now(), topics: ['cats'], text: Array.from({ length: 4 }, (_, w) => `m${minute}p${n}w${w}`).join(' ') });
      });
      await store.apply('live', planWrites(posts, { topicsOf: liveTopicsOf, candidatesPerBucket: 20 }), retention);
      await store.wordShift.apply('live', planWordShift(posts, liveTopicsOf), settings);
      events.advance(MINUTE / 10);
      clock.advance(1_000);
    }
  }
  assert.ok(evictions.length > 0 && evictions.every((e) => !e.overBudget), JSON.stringify(evictions.at(-1)));
  assert.ok(store.footprint().historyBytes <= 6 * 1024 * 1024 * 1.15);
  assert.equal((await store.wordShift.readTables('live', [{ topic: 'cats', size: '1m', start: T0 }]))[0], null, 'the oldest minute by event time went');
  assert.ok((await store.wordShift.readTables('live', [{ topic: 'cats', size: '1m', start: T0 + 115 * MINUTE }]))[0] !== null, 'the newest stayed');
});
