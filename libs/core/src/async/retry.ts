import { systemClock, type Clock } from '../clock';
import { AbortedError, isRetriable } from '../errors';
import { sleep } from './sleep';

export interface RetryOptions {
  /** Retries after the first attempt; `Infinity` keeps going until success, a non-retriable error or the signal. */
  retries: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** 0..1 share of each delay that is randomised, so many clients don't retry in lockstep. */
  jitter?: number;
  random?: () => number;
  /** Which failures are worth another try; default: errors marked `retriable` (see error-codes.ts). */
  shouldRetry?: (error: unknown) => boolean;
  /** A delay the failure itself asks for (e.g. HTTP Retry-After); `undefined` uses the backoff. */
  delayFor?: (error: unknown, attempt: number) => number | undefined;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  clock?: Clock;
  /** Stops retrying (and waiting) at once; the call then rejects with AbortedError. */
  signal?: AbortSignal | undefined;
}

/** Exponential backoff capped at `maxDelayMs`, with `jitter` of it drawn at random. */
export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number, jitter: number, random: () => number = Math.random): number {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** attempt);
  return Math.round(base * (1 - jitter + jitter * random()));
}

function aborted(signal: AbortSignal): AbortedError {
  return new AbortedError('stopped while retrying', { cause: signal.reason });
}

/**
 * Runs `fn` until it succeeds, retrying only errors judged retriable, with exponential backoff and jitter on the
 * given clock. The one retry loop of the code base: the bus, the webhook, the ingester and the sinks all use it.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 10_000;
  const jitter = options.jitter ?? 0.5;
  const shouldRetry = options.shouldRetry ?? isRetriable;
  const clock = options.clock ?? systemClock;
  const { signal } = options;
  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted === true) throw aborted(signal);
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.retries || !shouldRetry(error)) throw error;
      const delay = options.delayFor?.(error, attempt + 1) ?? backoffDelay(attempt, initial, max, jitter, options.random);
      options.onRetry?.(error, attempt + 1, delay);
      if (!(await sleep(delay, { clock, signal })) && signal !== undefined) throw aborted(signal);
    }
  }
}
