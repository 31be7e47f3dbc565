import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '@moodstream/bus';
import { VirtualClock, createServiceRuntime } from '@moodstream/core';
import { MemoryIngestStore } from '@moodstream/tumblr';
import { createIngesterApp } from '../src/app';
import { capturedLogger, emptyPage, scriptedTumblr, testConfig, waitFor } from './helpers';

function failIfSlow<T>(promise: Promise<T>, what: string, ms = 2_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms of real time`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test('stop() cuts a long backoff short through the abort signal: no virtual time passes, no further call', async () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const tumblr = scriptedTumblr(() => new Response('', { status: 503 }));
  const fatal: unknown[] = [];
  const bus = createMemoryBus();
  const app = createIngesterApp({
    // A 10-minute backoff: without the signal, stop() would have to wait it out.
    config: testConfig({ INGEST_BACKOFF_INITIAL_MS: '600000', INGEST_BACKOFF_MAX_MS: '600000' }),
    bus,
    logger: capturedLogger().logger,
    clock,
    cursorStore: new MemoryIngestStore(),
    fetch: tumblr.fetch,
    run: { mode: 'live', tags: [] },
    onFatal: (error) => fatal.push(error),
  });
  try {
    await app.start();
    await waitFor(() => tumblr.calls() === 1 && clock.pendingTimers() === 1, 5_000, 'the first call to fail and its backoff to begin');
    const startedWaiting = clock.now();
    await failIfSlow(app.stop(), 'stop() during a 10-minute backoff');
    await failIfSlow(app.done, 'done after stop()');
    assert.equal(clock.now(), startedWaiting, 'the clock never moved: the wait was cut, not served');
    assert.equal(clock.pendingTimers(), 0, 'the backoff timer was cleared');
    assert.equal(tumblr.calls(), 1, 'no call after the stop');
    assert.deepEqual(fatal, [], 'a stop is not a failure');
    assert.match(await app.registry.metrics(), /moodstream_ingester_errors_total\{kind="server"[^}]*\} 1/);
  } finally {
    await app.stop();
    await bus.close();
  }
});

test('a 429 with Retry-After waits exactly that long on the clock, and the pause is persisted for a restart', async () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const tumblr = scriptedTumblr((call) => (call === 1 ? new Response('', { status: 429, headers: { 'retry-after': '7' } }) : emptyPage()));
  const store = new MemoryIngestStore();
  const bus = createMemoryBus();
  const app = createIngesterApp({ config: testConfig(), bus, logger: capturedLogger().logger, clock, cursorStore: store, fetch: tumblr.fetch, run: { mode: 'live', tags: ['happy'] } });
  try {
    await app.start();
    await waitFor(() => tumblr.calls() === 1 && clock.pendingTimers() === 1, 5_000, 'the 429');
    const limitedAt = clock.now();
    await waitFor(async () => (await store.getBudget())?.pausedUntil === limitedAt + 7_000, 5_000, 'the pause persisted');
    clock.advance(6_999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(tumblr.calls(), 1, 'nothing sent before Retry-After has passed');
    clock.advance(1);
    // Then every watched tag gets its turn at once (six emotion tags, budget to spare).
    await waitFor(() => tumblr.calls() >= 2, 5_000, 'the call after Retry-After');
    assert.match(await app.registry.metrics(), /moodstream_ingester_tumblr_requests_total\{tag="happy",outcome="rate-limited"[^}]*\} 1/);
  } finally {
    await app.stop();
    await bus.close();
  }
});

test('a live run that fails by itself (the key revoked) reaches onFatal, and the runtime crash policy closes it with exit 1', async () => {
  const clock = new VirtualClock(1_700_000_000_000);
  const tumblr = scriptedTumblr(() => new Response('', { status: 401 }));
  const { logger } = capturedLogger();
  let exited: (code: number) => void = () => undefined;
  const exitCode = new Promise<number>((resolve) => (exited = resolve));
  const runtime = createServiceRuntime({ name: 'ingester', logger, clock, exit: (code) => exited(code) });
  const bus = createMemoryBus();
  runtime.onClose('bus', () => bus.close());
  const fatal: unknown[] = [];
  const crash = runtime.crash('ingester');
  const app = createIngesterApp({
    config: testConfig(),
    bus,
    logger,
    clock,
    registry: runtime.registry,
    cursorStore: new MemoryIngestStore(),
    fetch: tumblr.fetch,
    run: { mode: 'live', tags: [] },
    onFatal: (error) => {
      fatal.push(error);
      crash(error);
    },
  });
  await runtime.start('ingester', app);
  assert.equal(await failIfSlow(exitCode, 'the crash policy'), 1);
  assert.equal(fatal.length, 1, 'onFatal is called once');
  assert.equal((fatal[0] as Error).name, 'TumblrAuthError');
  await assert.rejects(app.done, (e: unknown) => e === fatal[0]);
  assert.equal(tumblr.calls(), 1, 'a bad key is not retried');
  assert.equal(app.health().ok, false);
  const parts = runtime.health().parts as Record<string, { state: string } | undefined>;
  assert.equal(parts['ingester']?.state, 'failed');
  assert.equal(parts['bus']?.state, 'stopped', 'the rest was closed gracefully');
});
