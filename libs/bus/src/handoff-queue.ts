/**
 * Hands items from a push-style source (a kafkajs eachBatch callback) to a pull-style reader
 * (an async iterator), one at a time: `push` resolves only when the reader took the item, so a
 * slow reader slows the source down instead of piling records up in memory.
 *
 * Kept by hand: node:stream and events.on buffer ahead of the reader and leave a waiting writer hanging when the
 * reader leaves early, and no maintained package offers this rendezvous without either.
 */
export class HandoffQueue<T> implements AsyncIterable<T> {
  private readonly items: { item: T; taken: () => void }[] = [];
  private waitingReader: (() => void) | null = null;
  private ended = false;
  private failure: { error: unknown } | null = null;

  /** Resolves when the reader took the item, or when the queue was closed meanwhile. */
  push(item: T): Promise<void> {
    if (this.ended || this.failure !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.items.push({ item, taken: resolve });
      this.notify();
    });
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    if (this.failure === null) this.failure = { error };
    this.notify();
  }

  /** Releases every pending `push`, for when the reader goes away early. */
  close(): void {
    this.ended = true;
    for (const pending of this.items.splice(0)) pending.taken();
    this.notify();
  }

  private notify(): void {
    const reader = this.waitingReader;
    this.waitingReader = null;
    reader?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        if (this.failure !== null) throw this.failure.error;
        const next = this.items.shift();
        if (next !== undefined) {
          next.taken();
          yield next.item;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.waitingReader = resolve;
        });
      }
    } finally {
      this.close();
    }
  }
}
