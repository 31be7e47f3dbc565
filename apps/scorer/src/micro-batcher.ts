import type { Clock, Timer } from '@moodstream/core';

export interface MicroBatcherOptions<T> {
  /** A batch is cut as soon as this many items wait. */
  maxSize: number;
  /** ...or when the oldest waiting item has waited this long. */
  maxAgeMs: number;
  /** Batches processed at once; further cut batches queue in order. */
  maxInFlight: number;
  clock: Clock;
  process: (items: T[]) => Promise<void>;
}

interface Waiter {
  remaining: number;
  failed: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Entry<T> {
  item: T;
  waiter: Waiter;
}

/**
 * Groups items from many callers into batches that flush on size or on age, like RxJS
 * `bufferTime(maxAgeMs, null, maxSize)` but with the age counted from the oldest waiting item
 * (an idle stream never flushes empty batches, and a lone item waits at most `maxAgeMs`).
 *
 * `add` resolves only once every item it handed over has been processed, so a Kafka handler that
 * awaits it commits offsets only after the batch holding its records was produced and acknowledged.
 * If any batch holding one of its items fails, `add` rejects with that batch's error.
 */
export class MicroBatcher<T> {
  private readonly options: MicroBatcherOptions<T>;
  private buffer: Entry<T>[] = [];
  private readonly ready: Entry<T>[][] = [];
  private timer: Timer | null = null;
  private inFlight = 0;
  private eager = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: MicroBatcherOptions<T>) {
    if (options.maxSize < 1) throw new RangeError('maxSize must be at least 1');
    if (options.maxInFlight < 1) throw new RangeError('maxInFlight must be at least 1');
    this.options = options;
  }

  /**
   * @param options.flushTail cut what is left over after the full batches at once instead of waiting
   *   for company: for a caller that already brought a full batch's worth (a saturated stream) and
   *   knows nothing more can arrive until this resolves.
   */
  add(items: readonly T[], options: { flushTail?: boolean } = {}): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: items.length, failed: false, resolve, reject };
      for (const item of items) {
        this.buffer.push({ item, waiter });
        if (this.buffer.length >= this.options.maxSize) this.cut(this.options.maxSize);
      }
      if (this.buffer.length > 0) {
        if (this.eager || this.options.maxAgeMs === 0 || options.flushTail === true) this.cut(this.buffer.length);
        else if (this.timer === null) this.timer = this.options.clock.setTimeout(() => this.onAge(), this.options.maxAgeMs);
      }
      this.pump();
    });
  }

  /** Flushes what waits now and every later item at once: for shutdown, when waiting for company only delays the commit. */
  flushEagerly(): void {
    this.eager = true;
    if (this.buffer.length > 0) this.cut(this.buffer.length);
    this.pump();
  }

  /** Resolves when nothing waits and nothing is being processed. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get waiting(): number {
    return this.buffer.length + this.ready.reduce((sum, batch) => sum + batch.length, 0);
  }

  get batchesInFlight(): number {
    return this.inFlight;
  }

  private isIdle(): boolean {
    return this.buffer.length === 0 && this.ready.length === 0 && this.inFlight === 0;
  }

  private onAge(): void {
    this.timer = null;
    if (this.buffer.length > 0) this.cut(this.buffer.length);
    this.pump();
  }

  private cut(count: number): void {
    this.ready.push(this.buffer.slice(0, count));
    this.buffer = this.buffer.slice(count);
    // Cuts take the whole buffer (size cuts happen the moment it fills), so no age is left to track.
    if (this.timer !== null) {
      this.options.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.ready.length > 0) {
      const batch = this.ready.shift() as Entry<T>[];
      this.inFlight++;
      this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.isIdle()) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const wake of waiters) wake();
        }
      });
    }
  }

  private async run(batch: Entry<T>[]): Promise<void> {
    let error: unknown;
    let ok = true;
    try {
      await this.options.process(batch.map((entry) => entry.item));
    } catch (caught) {
      ok = false;
      error = caught;
    }
    for (const { waiter } of batch) {
      if (!ok && !waiter.failed) {
        waiter.failed = true;
        waiter.reject(error);
      }
      waiter.remaining--;
      if (waiter.remaining === 0 && !waiter.failed) waiter.resolve();
    }
  }
}
