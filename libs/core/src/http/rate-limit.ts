import type { Clock } from '../clock';

export interface RateLimiterOptions {
  /** Requests each key may make per minute on average; also the burst (a full bucket). */
  perMinute: number;
  clock: Clock;
  /** Keys tracked at most; above it, full (idle) buckets are forgotten first. Default 10,000. */
  maxKeys?: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiter {
  /** Takes one token from `key`'s bucket: allowed, or refused with the whole seconds until a token is back. */
  take(key: string): RateDecision;
  /** Keys currently tracked (for tests and a memory bound). */
  size(): number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per key (a client address): `perMinute` tokens, refilled continuously at `perMinute` a minute, on the
 * project's Clock so tests run in virtual time. Memory is bounded: a bucket that has refilled is the same as no
 * bucket, so such buckets are dropped when the map grows past `maxKeys`.
 */
export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  if (!(options.perMinute > 0)) throw new RangeError('perMinute must be positive');
  const capacity = options.perMinute;
  const perMs = options.perMinute / 60_000;
  const maxKeys = options.maxKeys ?? 10_000;
  const buckets = new Map<string, Bucket>();
  const refill = (bucket: Bucket, now: number): void => {
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
  };
  const prune = (now: number): void => {
    for (const [key, bucket] of buckets) {
      refill(bucket, now);
      if (bucket.tokens >= capacity) buckets.delete(key);
    }
    // Still too many busy clients: forget the oldest (they get a fresh bucket; the bound on memory wins).
    for (const key of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(key);
    }
  };
  return {
    take(key) {
      const now = options.clock.now();
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= maxKeys) prune(now);
        bucket = { tokens: capacity, at: now };
        buckets.set(key, bucket);
      }
      refill(bucket, now);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true };
      }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
    },
    size: () => buckets.size,
  };
}
