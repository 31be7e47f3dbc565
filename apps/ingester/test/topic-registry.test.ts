import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus } from '@moodstream/bus';
import { VirtualClock } from '@moodstream/core';
import { EMOTIONS, topicBudget } from '@moodstream/events';
import { createMemoryTopicRegistry } from '@moodstream/trends';
import { MemoryIngestStore } from '@moodstream/tumblr';
import { createIngesterApp } from '../src/app';
import { capturedLogger, emptyPage, scriptedTumblr, testConfig, waitFor } from './helpers';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Lets the app run until it waits on the clock with nothing else to do. */
async function settle(clock: VirtualClock): Promise<void> {
  for (let i = 0; i < 10; i++) await tick();
  await waitFor(() => clock.pendingTimers() >= 1, 5_000, 'the app to wait on the clock');
}

/** Most requests in any window of `windowMs` (times sorted). */
function busiestWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while ((times[hi] as number) - (times[lo] as number) >= windowMs) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}

test('tags added at run time: polled within one poll interval, never beyond what the budget carries, and the budget is never exceeded', { timeout: 240_000 }, async () => {
  const start = Date.UTC(2026, 10, 30);
  const clock = new VirtualClock(start);
  const calls: { at: number; tag: string }[] = [];
  const tumblr = scriptedTumblr((_call, url) => {
    calls.push({ at: clock.now(), tag: url.searchParams.get('tag') ?? '' });
    return emptyPage();
  });
  const limits = { perMinute: 300, perHour: 1000, perDay: 5000 };
  const config = testConfig({
    INGEST_BUDGET_PER_MINUTE: String(limits.perMinute),
    INGEST_BUDGET_PER_HOUR: String(limits.perHour),
    INGEST_BUDGET_PER_DAY: String(limits.perDay),
    INGEST_POLL_INTERVAL_MS: '60000',
  });
  const registry = createMemoryTopicRegistry({ clock });
  const bus = createMemoryBus();
  const app = createIngesterApp({ config, bus, logger: capturedLogger().logger, clock, cursorStore: new MemoryIngestStore(), fetch: tumblr.fetch, run: { mode: 'live', tags: [] }, topicRegistry: registry });
  const { capacity } = topicBudget({ limits, pollIntervalMs: 60_000, watched: 0 });
  const extra = Array.from({ length: capacity + 4 - EMOTIONS.length }, (_, i) => `event-${i}`);
  const addedAt = new Map<string, number>();
  try {
    await app.start();
    // 26 hours in 30-second steps: a tag is added every 10 minutes from hour 1 (past what the budget carries by the
    // end), and the first one is removed at hour 20.
    for (let step = 0; clock.now() - start < 26 * HOUR; step++) {
      const elapsed = clock.now() - start;
      const next = extra[addedAt.size];
      if (elapsed >= HOUR && elapsed % (10 * 60_000) === 0 && next !== undefined) {
        await registry.add({ tag: next, addedAt: clock.now(), addedBy: 'test' });
        addedAt.set(next, clock.now());
      }
      if (elapsed === 20 * HOUR) await registry.remove('event-0');
      await settle(clock);
      clock.advance(30_000);
    }
    await settle(clock);
    const times = calls.map((c) => c.at).sort((a, b) => a - b);
    const perHour = busiestWindow(times, HOUR);
    const perDay = busiestWindow(times, DAY);
    process.stderr.write(`budget test: ${calls.length} requests in 26 h; busiest hour ${perHour} (limit ${limits.perHour}), busiest day ${perDay} (limit ${limits.perDay})\n`);
    assert.ok(perHour <= limits.perHour, `busiest hour ${perHour}`);
    assert.ok(perDay <= limits.perDay, `busiest day ${perDay}`);
    assert.ok(perDay >= limits.perDay * 0.9, `the budget is used, not wasted (${perDay})`);

    const polled = (tag: string) => calls.filter((c) => c.tag === tag).map((c) => c.at);
    // Every tag the budget carries is polled within one poll interval of being added (its walk comes first).
    const carried = extra.slice(0, capacity - EMOTIONS.length);
    for (const tag of carried) {
      const first = polled(tag)[0];
      assert.ok(first !== undefined && first - (addedAt.get(tag) as number) <= 60_000, `${tag} first polled ${first === undefined ? 'never' : `${first - (addedAt.get(tag) as number)} ms`} after it was added`);
    }
    // Tags past what the budget carries wait; when event-0 goes, the next one in line takes its place.
    const waiting = extra.slice(capacity - EMOTIONS.length);
    assert.ok(polled(waiting[0] as string).every((t) => t >= start + 20 * HOUR), 'the first tag over budget waits until one is removed');
    assert.ok(polled(waiting[0] as string).length > 0, 'and is polled once there is room');
    for (const tag of waiting.slice(1)) assert.deepEqual(polled(tag), [], `${tag} is over budget`);
    assert.ok(polled('event-0').every((t) => t < start + 20 * HOUR + 30_000), 'a removed tag is no longer polled');
    const report = (await registry.reports())[0];
    assert.ok(report !== undefined && report.tags.length === capacity, `the ingester reports the ${capacity} tags it polls`);
  } finally {
    await app.stop();
    await bus.close();
  }
});
