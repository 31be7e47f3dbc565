export interface CoalescingSenderOptions<M> {
  /** Sends one list of messages (one produce request); resolves once the broker acknowledged all of them. */
  sendAll: (messages: M[]) => Promise<void>;
  /** Most messages in one request: what a batch brings is never split, but queued batches join only up to this. */
  maxMessages: number;
}

interface Waiting<M> {
  messages: M[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for produce requests: while one request is in flight, the batches that finish meanwhile wait and then
 * go out together in the next request, and each caller's promise settles with the request that carried its messages.
 * The scorer's producer is idempotent with one request in flight, so every send costs a full broker round trip
 * (acks from all replicas); measured on the text-only bench (docs/benchmarks.md) a batch of 32 waited ~41 ms for its
 * send — longer than scoring it — and three batches' sends queued one behind another. Coalesced, a round trip carries
 * every batch that is ready, so throughput no longer divides by the round trip.
 */
export class CoalescingSender<M> {
  private readonly waiting: Waiting<M>[] = [];
  private sending = false;

  constructor(private readonly options: CoalescingSenderOptions<M>) {
    if (options.maxMessages < 1) throw new RangeError('maxMessages must be at least 1');
  }

  /** Resolves once these messages were acknowledged; rejects with the error of the request that carried them. */
  send(messages: M[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ messages, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  /** Requests in turn until nothing waits: each takes the waiting batches in arrival order, up to maxMessages. */
  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.waiting.length > 0) {
        const taken: Waiting<M>[] = [this.waiting.shift()!];
        let count = taken[0]!.messages.length;
        while (this.waiting.length > 0 && count + this.waiting[0]!.messages.length <= this.options.maxMessages) {
          const next = this.waiting.shift()!;
          count += next.messages.length;
          taken.push(next);
        }
        try {
          await this.options.sendAll(taken.length === 1 ? taken[0]!.messages : taken.flatMap((w) => w.messages));
          for (const w of taken) w.resolve();
        } catch (error) {
          for (const w of taken) w.reject(error);
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
