import { isRetriable } from './errors';

export interface RetryOptions {
  retries: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** 0..1 share of each delay that is randomised, so many clients don't retry in lockstep. */
  jitter?: number;
  shouldRetry?: (error: unknown) => boolean;
  sleep?: (ms: number) => Promise<void>;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function backoffDelay(attempt: number, initialDelayMs: number, maxDelayMs: number, jitter: number, random = Math.random): number {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** attempt);
  return Math.round(base * (1 - jitter + jitter * random()));
}

/** Retries only errors judged retriable, with exponential backoff and jitter. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 10_000;
  const jitter = options.jitter ?? 0.5;
  const shouldRetry = options.shouldRetry ?? isRetriable;
  const wait = options.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= options.retries || !shouldRetry(error)) throw error;
      const delay = backoffDelay(attempt, initial, max, jitter);
      options.onRetry?.(error, attempt + 1, delay);
      await wait(delay);
    }
  }
}
