import { createSerialQueue, sleep, type Clock } from '@moodstream/core';
import type { RateLimitInfo } from './client';
import type { BucketState, BudgetState, IngestStore } from './store/types';

/** Tumblr's documented limits for an API key (per hour, per day) and per IP address (per minute). */
export const TUMBLR_LIMITS = { perMinute: 300, perHour: 1000, perDay: 5000 } as const;

export interface BudgetLimits {
  perMinute: number;
  perHour: number;
  perDay: number;
}

interface BucketSpec {
  name: keyof BudgetLimits;
  windowMs: number;
  capacity: number;
  refillPerMs: number;
}

const WINDOWS: Record<keyof BudgetLimits, number> = { perMinute: 60_000, perHour: 3_600_000, perDay: 86_400_000 };

/**
 * A bucket of capacity B refilled at (L − B)/W lets through at most L requests in ANY window of length W
 * (B at once, then the refill), which is what "L per window" must mean when we cannot see the
 * server's window boundaries. B is a tenth of L, at most 30: small bursts, no window ever overdrawn.
 */
export function bucketSpecs(limits: BudgetLimits): BucketSpec[] {
  return (Object.keys(WINDOWS) as (keyof BudgetLimits)[]).map((name) => {
    const limit = limits[name];
    const windowMs = WINDOWS[name];
    const capacity = Math.max(1, Math.min(30, Math.floor(limit / 10)));
    return { name, windowMs, capacity, refillPerMs: Math.max(0, limit - capacity) / windowMs };
  });
}

export interface BudgetSnapshot {
  /** Requests made since this process started. */
  used: number;
  /** Whole tokens available now, per bucket. */
  left: Record<keyof BudgetLimits, number>;
  pausedUntil: number;
}

/**
 * The request budget: token buckets for the minute/hour/day limits, persisted in the ingest store after
 * every request so a restart continues where it stopped instead of starting full. A 429 or a server
 * report of an exhausted window pauses every request until the stated time.
 */
export class RequestBudget {
  private readonly specs: BucketSpec[];
  private buckets: Record<string, BucketState> = {};
  private pausedUntil = 0;
  private used = 0;
  /** Callers are served one at a time, in the order they asked. */
  private readonly turns = createSerialQueue();

  constructor(
    limits: BudgetLimits,
    private readonly clock: Clock,
    private readonly store: IngestStore,
  ) {
    this.specs = bucketSpecs(limits);
  }

  async load(): Promise<void> {
    const saved = await this.store.getBudget();
    const now = this.clock.now();
    for (const spec of this.specs) {
      const state = saved?.buckets[spec.name];
      this.buckets[spec.name] =
        state !== undefined && Number.isFinite(state.tokens) && state.updatedAt <= now
          ? { tokens: Math.min(spec.capacity, state.tokens), updatedAt: state.updatedAt }
          : { tokens: spec.capacity, updatedAt: now };
    }
    this.pausedUntil = saved?.pausedUntil ?? 0;
  }

  private refill(now: number): void {
    for (const spec of this.specs) {
      const bucket = this.buckets[spec.name] ?? { tokens: spec.capacity, updatedAt: now };
      const elapsed = Math.max(0, now - bucket.updatedAt);
      this.buckets[spec.name] = { tokens: Math.min(spec.capacity, bucket.tokens + elapsed * spec.refillPerMs), updatedAt: now };
    }
  }

  /** Ms until one request may be made (0 = now). */
  waitMs(): number {
    const now = this.clock.now();
    this.refill(now);
    let wait = Math.max(0, this.pausedUntil - now);
    for (const spec of this.specs) {
      const tokens = this.buckets[spec.name]?.tokens ?? 0;
      if (tokens < 1) wait = Math.max(wait, spec.refillPerMs > 0 ? Math.ceil((1 - tokens) / spec.refillPerMs) : Infinity);
    }
    return wait;
  }

  /**
   * Waits for a token in every bucket, takes them and persists the new state. Callers are served in
   * the order they asked (fairness across tags is the scheduler's job: it asks in turn). Resolves false,
   * taking nothing, when `signal` fires first (shutdown).
   */
  acquire(signal?: AbortSignal): Promise<boolean> {
    return this.turns.run(async () => {
      // Re-checked after every wait: a 429 or the server's count may have moved the goalposts meanwhile.
      for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) {
        if (!Number.isFinite(wait)) throw new Error('request budget is zero: no request can ever be made');
        if (!(await sleep(wait, { clock: this.clock, signal }))) return false;
      }
      if (signal?.aborted === true) return false;
      for (const spec of this.specs) {
        const bucket = this.buckets[spec.name];
        if (bucket !== undefined) bucket.tokens -= 1;
      }
      this.used += 1;
      await this.persist();
      return true;
    });
  }

  /** Nothing may be sent before `until` (epoch ms): a 429 with Retry-After, or a jittered backoff. */
  async pauseUntil(until: number): Promise<void> {
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    await this.persist();
  }

  /** Trusts the server's count when it is lower than ours (another client may share the key). */
  async observe(info: RateLimitInfo): Promise<void> {
    const now = this.clock.now();
    this.refill(now);
    let changed = false;
    const clamp = (name: keyof BudgetLimits, remaining: number | null, resetMs: number | null): void => {
      if (remaining === null) return;
      const bucket = this.buckets[name];
      if (bucket !== undefined && remaining < bucket.tokens) {
        bucket.tokens = remaining;
        changed = true;
      }
      if (remaining === 0 && resetMs !== null && now + resetMs > this.pausedUntil) {
        this.pausedUntil = now + resetMs;
        changed = true;
      }
    };
    clamp('perHour', info.perHourRemaining, info.perHourResetMs);
    clamp('perDay', info.perDayRemaining, info.perDayResetMs);
    if (changed) await this.persist();
  }

  snapshot(): BudgetSnapshot {
    this.refill(this.clock.now());
    const left = {} as Record<keyof BudgetLimits, number>;
    for (const spec of this.specs) left[spec.name] = Math.floor(this.buckets[spec.name]?.tokens ?? 0);
    return { used: this.used, left, pausedUntil: this.pausedUntil };
  }

  private persist(): Promise<void> {
    const state: BudgetState = { buckets: { ...this.buckets }, pausedUntil: this.pausedUntil };
    return this.store.saveBudget(JSON.parse(JSON.stringify(state)) as BudgetState);
  }
}
