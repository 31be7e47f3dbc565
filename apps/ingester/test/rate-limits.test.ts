import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '@moodstream/bus';
import { VirtualClock } from '@moodstream/core';
import { MemoryIngestStore } from '@moodstream/tumblr';
import { createIngesterApp } from '../src/app';
import { capturedLogger, emptyPage, scriptedTumblr, testConfig, waitFor } from './helpers';

const DAY_EXHAUSTED = { 'x-ratelimit-perday-remaining': '0', 'x-ratelimit-perday-reset': '5000', 'x-ratelimit-perhour-remaining': '900', 'x-ratelimit-perhour-reset': '100' };
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Lets the app run until it waits on the clock with nothing else to do. */
async function settle(clock: VirtualClock): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
  await waitFor(() => clock.pendingTimers() >= 1, 5_000, 'the app to wait on the clock');
}

test('a 429 without Retry-After whose headers say the day is spent waits for the daily reset, persisted, with no request between', async () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const tumblr = scriptedTumblr((call) => (call === 1 ? new Response(JSON.stringify({ meta: { status: 429, msg: 'Limit Exceeded' }, response: [] }), { status: 429, headers: DAY_EXHAUSTED }) : emptyPage()));
  const store = new MemoryIngestStore();
  const bus = createMemoryBus();
  const app = createIngesterApp({ config: testConfig(), bus, logger: capturedLogger().logger, clock, cursorStore: store, fetch: tumblr.fetch, run: { mode: 'live', tags: ['happy'] } });
  try {
    await app.start();
    await waitFor(() => tumblr.calls() === 1, 5_000, 'the 429');
    const limitedAt = clock.now();
    await waitFor(async () => (await store.getBudget())?.pausedUntil === limitedAt + 5_000_000, 5_000, 'the daily pause persisted');
    for (const step of [60_000, 600_000, 3_600_000, 5_000_000 - 4_260_001]) {
      await settle(clock);
      clock.advance(step);
    }
    await settle(clock);
    assert.equal(clock.now(), limitedAt + 4_999_999);
    assert.equal(tumblr.calls(), 1, 'no request before the reset the headers gave');
    clock.advance(1);
    await waitFor(() => tumblr.calls() >= 2, 5_000, 'the call after the reset');
  } finally {
    await app.stop();
    await bus.close();
  }
});

test('a restart during a spent day waits for the saved reset instead of asking again', async () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const store = new MemoryIngestStore();
  const bus = createMemoryBus();
  // A 200 whose headers say the day's budget is now 0: the next request must wait for the reset.
  const first = scriptedTumblr(() => emptyPage(DAY_EXHAUSTED));
  const app = createIngesterApp({ config: testConfig(), bus, logger: capturedLogger().logger, clock, cursorStore: store, fetch: first.fetch, run: { mode: 'live', tags: ['happy'] } });
  await app.start();
  await waitFor(async () => (await store.getBudget())?.pausedUntil === 1_700_000_000_000 + 5_000_000, 5_000, 'the pause persisted');
  await app.stop();
  const calls = first.calls();
  const second = scriptedTumblr(() => emptyPage());
  const again = createIngesterApp({ config: testConfig(), bus, logger: capturedLogger().logger, clock, cursorStore: store, fetch: second.fetch, run: { mode: 'live', tags: ['happy'] } });
  try {
    await again.start();
    await settle(clock);
    clock.advance(4_999_999);
    await settle(clock);
    assert.equal(second.calls(), 0, 'the restarted ingester waited');
    clock.advance(1);
    await waitFor(() => second.calls() >= 1, 5_000, 'the first call after the reset');
    assert.equal(calls, 1, 'the first run made its one call and then waited');
  } finally {
    await again.stop();
    await bus.close();
  }
});

test("the envelope's meta.status wins over HTTP: an HTTP 401 whose body says 429 is a rate limit, not a revoked key", async () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const tumblr = scriptedTumblr((call) =>
    call === 1 ? new Response(JSON.stringify({ meta: { status: 429, msg: 'Limit Exceeded' }, response: [] }), { status: 401, headers: { 'retry-after': '3' } }) : emptyPage(),
  );
  const fatal: unknown[] = [];
  const bus = createMemoryBus();
  const app = createIngesterApp({ config: testConfig(), bus, logger: capturedLogger().logger, clock, cursorStore: new MemoryIngestStore(), fetch: tumblr.fetch, run: { mode: 'live', tags: ['happy'] }, onFatal: (e) => fatal.push(e) });
  try {
    await app.start();
    await waitFor(() => tumblr.calls() === 1 && clock.pendingTimers() >= 1, 5_000, 'the answer');
    clock.advance(3_000);
    await waitFor(() => tumblr.calls() >= 2, 5_000, 'the call after Retry-After');
    assert.deepEqual(fatal, []);
    assert.match(await app.registry.metrics(), /moodstream_ingester_tumblr_requests_total\{tag="happy",outcome="rate-limited"[^}]*\} 1/);
  } finally {
    await app.stop();
    await bus.close();
  }
});

test('a 404 for one tag is logged once with the tag and the tag is paused; the other tags carry on', async () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const notFound = (): Response => new Response(JSON.stringify({ meta: { status: 404, msg: 'Not Found' }, response: [] }), { status: 404 });
  const tumblr = scriptedTumblr((_call, url) => (url.searchParams.get('tag') === 'gone' ? notFound() : emptyPage()));
  const { logger, lines } = capturedLogger();
  const bus = createMemoryBus();
  const app = createIngesterApp({
    config: testConfig(),
    bus,
    logger,
    clock,
    cursorStore: new MemoryIngestStore(),
    fetch: tumblr.fetch,
    run: { mode: 'backfill', tags: ['gone', 'happy'], from: 0, to: 1_700_000_000_000 },
  });
  try {
    await app.start();
    await app.done;
    const asked = tumblr.urls.map((u) => u.searchParams.get('tag'));
    assert.deepEqual(asked, ['gone', 'happy'], 'the refused tag is asked for once');
    const refusals = lines.filter((l) => l.includes('Tumblr refused this tag'));
    assert.equal(refusals.length, 1);
    assert.match(refusals[0] as string, /"tag":"gone"/);
    assert.match(refusals[0] as string, /"status":404/);
    assert.match(await app.registry.metrics(), /moodstream_ingester_errors_total\{kind="rejected"[^}]*\} 1/);
  } finally {
    await app.stop();
    await bus.close();
  }
});

test('a live run whose every tag is refused fails instead of idling', async () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const tumblr = scriptedTumblr(() => new Response(JSON.stringify({ meta: { status: 400, msg: 'Bad Request' }, response: [] }), { status: 400 }));
  const fatal: unknown[] = [];
  const bus = createMemoryBus();
  const app = createIngesterApp({ config: testConfig(), bus, logger: capturedLogger().logger, clock, cursorStore: new MemoryIngestStore(), fetch: tumblr.fetch, run: { mode: 'live', tags: [] }, onFatal: (e) => fatal.push(e) });
  try {
    await app.start();
    await assert.rejects(app.done, (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'TUMBLR_REJECTED');
    assert.equal(tumblr.calls(), app.tags.length, 'each watched tag asked once');
    assert.equal(fatal.length, 1);
  } finally {
    await app.stop();
    await bus.close();
  }
});

test('every request asks for NPF', async () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const tumblr = scriptedTumblr(() => emptyPage());
  const bus = createMemoryBus();
  const app = createIngesterApp({ config: testConfig(), bus, logger: capturedLogger().logger, clock, cursorStore: new MemoryIngestStore(), fetch: tumblr.fetch, run: { mode: 'backfill', tags: ['happy'], from: 0, to: 1_700_000_000_000 } });
  try {
    await app.start();
    await app.done;
    assert.equal(tumblr.urls[0]?.searchParams.get('npf'), 'true');
  } finally {
    await app.stop();
    await bus.close();
  }
});
