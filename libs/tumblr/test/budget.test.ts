import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '@moodstream/core';
import { MemoryIngestStore, RequestBudget, bucketSpecs } from '../src/index';

test('bucket sizes never allow more than the limit in any window', () => {
  for (const spec of bucketSpecs({ perMinute: 300, perHour: 1000, perDay: 5000 })) {
    const limit = { perMinute: 300, perHour: 1000, perDay: 5000 }[spec.name];
    assert.ok(spec.capacity + spec.refillPerMs * spec.windowMs <= limit + 1e-9, spec.name);
  }
});

/** Drives acquire() in virtual time and counts grants per hour. */
async function grantsIn(budget: RequestBudget, clock: VirtualClock, ms: number): Promise<number[]> {
  const times: number[] = [];
  const stop = new AbortController();
  const loop = (async () => {
    while (await budget.acquire(stop.signal)) times.push(clock.now());
  })();
  for (let t = 0; t < ms; t += 1_000) {
    clock.advance(1_000);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
  stop.abort();
  await loop;
  return times;
}

test('the budget is law: a greedy caller gets at most 1,000 requests in any hour', async () => {
  const clock = new VirtualClock(0);
  const budget = new RequestBudget({ perMinute: 300, perHour: 1000, perDay: 5000 }, clock, new MemoryIngestStore());
  await budget.load();
  const times = await grantsIn(budget, clock, 2 * 3_600_000);
  for (let i = 0; i < times.length; i++) {
    const inWindow = times.filter((t) => t >= (times[i] as number) && t < (times[i] as number) + 3_600_000).length;
    assert.ok(inWindow <= 1000, `${inWindow} requests in the hour from ${times[i]}`);
  }
  // The day bucket binds: about 30 at once then one every ~17 s.
  assert.ok(times.length > 400 && times.length <= 1000, `${times.length} granted in two hours`);
});

test('token bucket state survives a restart: a new process does not start with a full budget', async () => {
  const store = new MemoryIngestStore();
  const clock = new VirtualClock(1_000_000);
  const first = new RequestBudget({ perMinute: 10, perHour: 10, perDay: 10 }, clock, store);
  await first.load();
  for (let i = 0; i < 1; i++) assert.equal(await first.acquire(), true);
  assert.equal(first.waitMs() > 0, true, 'capacity 1 used up');
  const second = new RequestBudget({ perMinute: 10, perHour: 10, perDay: 10 }, clock, store);
  await second.load();
  assert.ok(second.waitMs() > 0, 'the restarted budget remembers the spent token');
});

test('a 429 pause and an exhausted server window stop every request until their time', async () => {
  const clock = new VirtualClock(0);
  const budget = new RequestBudget({ perMinute: 300, perHour: 1000, perDay: 5000 }, clock, new MemoryIngestStore());
  await budget.load();
  await budget.pauseUntil(5_000);
  assert.equal(budget.waitMs(), 5_000);
  clock.advance(5_000);
  assert.equal(budget.waitMs(), 0);
  await budget.observe({ perHourRemaining: 0, perHourResetMs: 60_000, perDayRemaining: 100, perDayResetMs: 1_000_000 });
  assert.equal(budget.waitMs(), 60_000);
});

test('a caller waiting for a token gives up at once when its signal fires, taking nothing; the next caller is served', async () => {
  const clock = new VirtualClock(0);
  const store = new MemoryIngestStore();
  const budget = new RequestBudget({ perMinute: 10, perHour: 10, perDay: 10 }, clock, store);
  await budget.load();
  assert.equal(await budget.acquire(), true, 'capacity 1');
  const stop = new AbortController();
  const waiting = budget.acquire(stop.signal);
  const next = budget.acquire();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(clock.pendingTimers(), 1, 'the first caller waits for a refill');
  stop.abort();
  assert.equal(await waiting, false);
  assert.equal(budget.snapshot().used, 1, 'nothing taken by the caller that gave up');
  clock.advance(budget.waitMs());
  assert.equal(await next, true, 'the queue moved on to the next caller');
  assert.equal(budget.snapshot().used, 2);
});
