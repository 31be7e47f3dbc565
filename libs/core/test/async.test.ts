import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortedError, MoodstreamError, VirtualClock, backoffDelay, createLimit, createSerialQueue, retry, sleep } from '../src/index';

const transient = (): MoodstreamError => new MoodstreamError('BUS_KAFKA_UNAVAILABLE', 'broker unreachable');
const permanent = (): MoodstreamError => new MoodstreamError('TUMBLR_AUTH', 'api key rejected');

/** Lets pending promise callbacks run, so a virtual-time test can advance the clock between awaits. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('sleep resolves true after the time has passed on the virtual clock, not before', async () => {
  const clock = new VirtualClock(0);
  let done: boolean | null = null;
  void sleep(1_000, { clock }).then((value) => (done = value));
  clock.advance(999);
  await flush();
  assert.equal(done, null);
  clock.advance(1);
  await flush();
  assert.equal(done, true);
});

test('sleep resolves false at once when its signal fires, and leaves no timer behind', async () => {
  const clock = new VirtualClock(0);
  const controller = new AbortController();
  const slept = sleep(60_000, { clock, signal: controller.signal });
  assert.equal(clock.pendingTimers(), 1);
  controller.abort();
  assert.equal(await slept, false);
  assert.equal(clock.pendingTimers(), 0);
  assert.equal(await sleep(10, { clock, signal: controller.signal }), false, 'an already-aborted signal never waits');
});

test('retry retries a retriable error with growing, capped delays on the clock, then succeeds', async () => {
  const clock = new VirtualClock(0);
  const delays: number[] = [];
  let calls = 0;
  const result = retry(
    async () => {
      calls++;
      if (calls < 4) throw transient();
      return 'ok';
    },
    { retries: 5, initialDelayMs: 100, maxDelayMs: 250, jitter: 0, clock, onRetry: (_e, _a, ms) => delays.push(ms) },
  );
  for (let i = 0; i < 10 && calls < 4; i++) {
    await flush();
    clock.advance(250);
  }
  assert.equal(await result, 'ok');
  assert.equal(calls, 4);
  assert.deepEqual(delays, [100, 200, 250], 'exponential, capped at maxDelayMs');
  assert.equal(clock.pendingTimers(), 0, 'no backoff timer left behind');
});

test('retry never retries a non-retriable error', async () => {
  let calls = 0;
  await assert.rejects(
    retry(
      async () => {
        calls++;
        throw permanent();
      },
      { retries: 5, clock: new VirtualClock(0) },
    ),
    /api key rejected/,
  );
  assert.equal(calls, 1);
});

test('retry gives up after `retries` retries and throws the last error', async () => {
  const clock = new VirtualClock(0);
  let calls = 0;
  const result = retry(
    async () => {
      calls++;
      throw new MoodstreamError('TUMBLR_UNAVAILABLE', `failure ${calls}`);
    },
    { retries: 2, initialDelayMs: 10, jitter: 0, clock },
  );
  result.catch(() => undefined);
  for (let i = 0; i < 5; i++) {
    await flush();
    clock.advance(100);
  }
  await assert.rejects(result, /failure 3/);
  assert.equal(calls, 3);
});

test('retry takes the delay a failure asks for (Retry-After) over the backoff', async () => {
  const clock = new VirtualClock(0);
  const delays: number[] = [];
  let calls = 0;
  const result = retry(
    async () => {
      if (++calls === 1) throw transient();
      return calls;
    },
    { retries: 3, initialDelayMs: 10, jitter: 0, clock, delayFor: () => 7_000, onRetry: (_e, _a, ms) => delays.push(ms) },
  );
  await flush();
  clock.advance(6_999);
  await flush();
  assert.equal(calls, 1);
  clock.advance(1);
  assert.equal(await result, 2);
  assert.deepEqual(delays, [7_000]);
});

test('retry stops waiting when its signal fires and rejects with ABORTED', async () => {
  const clock = new VirtualClock(0);
  const controller = new AbortController();
  let calls = 0;
  const result = retry(
    async () => {
      calls++;
      throw transient();
    },
    { retries: Infinity, initialDelayMs: 60_000, clock, signal: controller.signal },
  );
  await flush();
  controller.abort();
  await assert.rejects(result, (error: unknown) => error instanceof AbortedError && error.code === 'ABORTED');
  assert.equal(calls, 1);
  assert.equal(clock.pendingTimers(), 0);
});

test('backoffDelay keeps jitter within its share of the delay', () => {
  assert.equal(backoffDelay(0, 100, 1_000, 0.5, () => 0), 50);
  assert.equal(backoffDelay(0, 100, 1_000, 0.5, () => 1), 100);
  assert.equal(backoffDelay(10, 100, 1_000, 0, () => 0.3), 1_000);
});

test('a limit runs at most N at a time, in arrival order, and a failure does not block the rest', async () => {
  const limit = createLimit(2);
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  const gates: (() => void)[] = [];
  const task = (id: number, fail = false) => () =>
    new Promise<number>((resolve, reject) => {
      running++;
      peak = Math.max(peak, running);
      order.push(id);
      gates.push(() => {
        running--;
        if (fail) reject(new Error(`task ${id} failed`));
        else resolve(id);
      });
    });
  const results = [limit.run(task(1, true)), limit.run(task(2)), limit.run(task(3)), limit.run(task(4))];
  results[0]!.catch(() => undefined);
  await flush();
  assert.equal(limit.activeCount, 2);
  assert.equal(limit.pendingCount, 2);
  while (gates.length > 0 || limit.activeCount > 0) {
    gates.shift()?.();
    await flush();
  }
  await assert.rejects(results[0]!, /task 1 failed/);
  assert.deepEqual(await Promise.all(results.slice(1)), [2, 3, 4]);
  assert.equal(peak, 2);
  assert.deepEqual(order, [1, 2, 3, 4]);
  await limit.idle();
});

test('limit.map keeps input order; a serial queue runs one at a time', async () => {
  const limit = createLimit(3);
  assert.deepEqual(await limit.map([3, 1, 2], async (n) => n * 10), [30, 10, 20]);
  const queue = createSerialQueue();
  const seen: string[] = [];
  await Promise.all(
    ['a', 'b', 'c'].map((id) =>
      queue.run(async () => {
        seen.push(`start ${id}`);
        await flush();
        seen.push(`end ${id}`);
      }),
    ),
  );
  assert.deepEqual(seen, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test('queued work that has not started is cancelled by the signal; running work finishes', async () => {
  const controller = new AbortController();
  const queue = createSerialQueue({ signal: controller.signal });
  let release: () => void = () => undefined;
  const first = queue.run(() => new Promise<string>((resolve) => (release = () => resolve('first'))));
  const second = queue.run(async () => 'second');
  second.catch(() => undefined);
  await flush();
  controller.abort();
  release();
  assert.equal(await first, 'first');
  await assert.rejects(second, (error: unknown) => error instanceof AbortedError);
  await assert.rejects(queue.run(async () => 'third'), (error: unknown) => error instanceof AbortedError);
});
