/**
 * Time as a dependency, so batching, windows and alerts can be tested in virtual time.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(timer: Timer): void;
}

export interface Timer {
  readonly id: number;
}

const systemHandles = new Map<number, NodeJS.Timeout>();
let systemNextId = 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const id = systemNextId++;
    systemHandles.set(
      id,
      setTimeout(() => {
        systemHandles.delete(id);
        fn();
      }, ms),
    );
    return { id };
  },
  clearTimeout(timer) {
    const handle = systemHandles.get(timer.id);
    if (handle !== undefined) clearTimeout(handle);
    systemHandles.delete(timer.id);
  },
};

/** A clock that only moves when told to; timers fire in due order during `advance`. */
export class VirtualClock implements Clock {
  private current: number;
  private nextId = 1;
  private readonly timers = new Map<number, { due: number; fn: () => void }>();

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const id = this.nextId++;
    this.timers.set(id, { due: this.current + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(timer: Timer): void {
    this.timers.delete(timer.id);
  }

  /** Moves time forward, firing each timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let nextId: number | undefined;
      let nextDue = Infinity;
      for (const [id, t] of this.timers) {
        if (t.due <= target && t.due < nextDue) {
          nextDue = t.due;
          nextId = id;
        }
      }
      if (nextId === undefined) break;
      const timer = this.timers.get(nextId);
      this.timers.delete(nextId);
      this.current = nextDue;
      timer?.fn();
    }
    this.current = target;
  }

  pendingTimers(): number {
    return this.timers.size;
  }
}
