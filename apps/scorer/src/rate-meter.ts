import type { Clock } from '@moodstream/core';

/** Events per second over a sliding window, in one-second buckets. */
export class RateMeter {
  private readonly buckets = new Map<number, number>();

  constructor(
    private readonly clock: Clock,
    private readonly windowSeconds = 10,
  ) {}

  mark(count: number): void {
    const second = Math.floor(this.clock.now() / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + count);
    this.prune(second);
  }

  perSecond(): number {
    const second = Math.floor(this.clock.now() / 1000);
    this.prune(second);
    let total = 0;
    for (const [at, count] of this.buckets) if (at > second - this.windowSeconds) total += count;
    return total / this.windowSeconds;
  }

  private prune(second: number): void {
    for (const at of this.buckets.keys()) if (at <= second - this.windowSeconds) this.buckets.delete(at);
  }
}
