import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MoodstreamError, backoffDelay, isRetriable, withRetry } from '../src/index';

const transient = (): MoodstreamError => new MoodstreamError('BROKER_AWAY', 'broker unreachable', { retriable: true });
const permanent = (): MoodstreamError => new MoodstreamError('BAD_KEY', 'api key rejected', { retriable: false });

test('withRetry retries a retriable error with growing delays, then succeeds', async () => {
  const delays: number[] = [];
  let calls = 0;
  const result = await withRetry(
    async () => {
      calls++;
      if (calls < 4) throw transient();
      return 'ok';
    },
    { retries: 5, initialDelayMs: 100, maxDelayMs: 250, jitter: 0, sleep: async (ms) => void delays.push(ms) },
  );
  assert.equal(result, 'ok');
  assert.equal(calls, 4);
  assert.deepEqual(delays, [100, 200, 250], 'exponential, capped at maxDelayMs');
});

test('withRetry never retries a non-retriable error', async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw permanent();
      },
      { retries: 5, sleep: async () => undefined },
    ),
    { code: 'BAD_KEY' },
  );
  assert.equal(calls, 1);
});

test('withRetry gives up after `retries` retries and throws the last error', async () => {
  let calls = 0;
  const retried: number[] = [];
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw transient();
      },
      { retries: 2, sleep: async () => undefined, onRetry: (_e, attempt) => retried.push(attempt) },
    ),
    { code: 'BROKER_AWAY' },
  );
  assert.equal(calls, 3);
  assert.deepEqual(retried, [1, 2]);
});

test('isRetriable: our errors by flag, client errors by their own retriable field, anything else no', () => {
  assert.equal(isRetriable(transient()), true);
  assert.equal(isRetriable(permanent()), false);
  assert.equal(isRetriable(Object.assign(new Error('kafkajs'), { retriable: true })), true);
  assert.equal(isRetriable(new Error('plain')), false);
  assert.equal(isRetriable('string'), false);
  assert.equal(isRetriable(null), false);
});

test('backoffDelay jitter stays within its share of the delay', () => {
  assert.equal(backoffDelay(0, 100, 1_000, 0.5, () => 0), 50);
  assert.equal(backoffDelay(0, 100, 1_000, 0.5, () => 1), 100);
  assert.equal(backoffDelay(10, 100, 1_000, 0, () => 0.3), 1_000);
});

test('MoodstreamError keeps code, retriable, cause and a subclass name', () => {
  class TumblrRateLimited extends MoodstreamError {
    constructor(cause: unknown) {
      super('TUMBLR_RATE_LIMITED', 'rate limited', { retriable: true, cause });
    }
  }
  const cause = new Error('429');
  const error = new TumblrRateLimited(cause);
  assert.equal(error.name, 'TumblrRateLimited');
  assert.equal(error.code, 'TUMBLR_RATE_LIMITED');
  assert.equal(error.retriable, true);
  assert.equal(error.cause, cause);
  assert.equal(new MoodstreamError('X', 'y').retriable, false, 'not retriable unless said so');
});
