import pLimit from 'p-limit';
import { AbortedError } from '../errors';

export interface Limit {
  /** Runs `fn` once fewer than `concurrency` calls are running; rejects with AbortedError if the signal fires first. */
  run<T>(fn: () => Promise<T> | T): Promise<T>;
  /** Maps `items` through `fn` with at most `concurrency` in flight, results in input order. */
  map<I, T>(items: readonly I[], fn: (item: I, index: number) => Promise<T> | T): Promise<T[]>;
  readonly activeCount: number;
  readonly pendingCount: number;
  /** Resolves once nothing is running or queued. */
  idle(): Promise<void>;
}

export interface LimitOptions {
  /** Queued calls that have not started reject with AbortedError when it fires; running ones finish. */
  signal?: AbortSignal | undefined;
}

/**
 * At most `concurrency` calls at a time, in arrival order (p-limit underneath). A failed call never blocks the
 * ones behind it. Involves no timers, so it needs no clock; virtual-time tests drive it through what they run.
 */
export function createLimit(concurrency: number, options: LimitOptions = {}): Limit {
  const limiter = pLimit(concurrency);
  const { signal } = options;
  let idleWaiters: (() => void)[] = [];
  const settle = (): void => {
    if (limiter.activeCount > 0 || limiter.pendingCount > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const wake of waiters) wake();
  };
  const run = <T>(fn: () => Promise<T> | T): Promise<T> => {
    if (signal?.aborted === true) return Promise.reject(new AbortedError('not started: the work was cancelled', { cause: signal.reason }));
    const result = limiter(async () => {
      if (signal?.aborted === true) throw new AbortedError('not started: the work was cancelled', { cause: signal.reason });
      return fn();
    });
    void result.then(settle, settle);
    return result;
  };
  return {
    run,
    map: (items, fn) => Promise.all(items.map((item, index) => run(() => fn(item, index)))),
    get activeCount() {
      return limiter.activeCount;
    },
    get pendingCount() {
      return limiter.pendingCount;
    },
    idle() {
      if (limiter.activeCount === 0 && limiter.pendingCount === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}

/** One call at a time, in order: a serial queue is a limit of one. */
export function createSerialQueue(options: LimitOptions = {}): Limit {
  return createLimit(1, options);
}
