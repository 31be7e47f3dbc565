import type { Clock, Timer } from '@moodstream/core';
import type { SeriesUpdate } from '@moodstream/trends';
import { seriesRoom } from './rooms';

/**
 * Holds bucket updates for `intervalMs` and then sends the newest version of each (room, bucket): a busy bucket
 * changes on every post, but a browser only needs its state a few times a second. Order within a flush follows
 * bucket start, so a chart receiving a burst appends left to right. An interval of 0 sends each update at once.
 */
export class PushCoalescer {
  private readonly pending = new Map<string, { room: string; update: SeriesUpdate }>();
  private timer: Timer | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly send: (room: string, update: SeriesUpdate) => void,
  ) {}

  push(update: SeriesUpdate): void {
    const room = seriesRoom(update);
    if (this.intervalMs === 0) {
      this.send(room, update);
      return;
    }
    this.pending.set(`${room}\u0000${update.point.start}`, { room, update });
    if (this.timer === null) this.timer = this.clock.setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = [...this.pending.values()].sort((a, b) => a.update.point.start - b.update.point.start);
    this.pending.clear();
    for (const { room, update } of batch) this.send(room, update);
  }

  /** Drops whatever is pending (shutdown). */
  clear(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  get size(): number {
    return this.pending.size;
  }
}
