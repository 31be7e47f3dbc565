import { BusError } from './errors';
import type { BatchContext } from './types';

export type ConsumerState = 'idle' | 'running' | 'stopping' | 'stopped' | 'aborted' | 'crashed';

/**
 * The states a consumer of either bus goes through, and the two signals it hands to batch processing:
 * `signal` fires on stop(), abort() and a crash, so no new handler attempt starts and a retry backoff ends at once;
 * abort() alone also ends `untilAborted`, so nobody waits for a hung handler.
 */
export class ConsumerLifecycle {
  private current: ConsumerState = 'idle';
  private readonly ending = new AbortController();
  /**
   * The pending `untilAborted` calls, each ended by abort(). Not one long-lived promise raced against every batch: each
   * race left a reaction on it, holding that batch's outcome, for as long as the consumer ran (the embedded soak's
   * heap gained ~6,000 promises a minute).
   */
  private readonly pendingKills = new Set<() => void>();
  private killed = false;

  constructor(private readonly groupId: string) {}

  get state(): ConsumerState {
    return this.current;
  }

  /** Aborted once the consumer stops, aborts or crashes. */
  get signal(): AbortSignal {
    return this.ending.signal;
  }

  /** Handlers may start new work. */
  get running(): boolean {
    return this.current === 'running';
  }

  /** A chunk the handler finished may still be committed: while running, and while stopping gracefully. */
  get mayCommit(): boolean {
    return this.current === 'running' || this.current === 'stopping';
  }

  start(): void {
    if (this.current !== 'idle') throw new BusError('BUS_CONSUMER_STATE', `consumer of group ${this.groupId} was already started`);
    this.current = 'running';
  }

  /** stop(): the in-flight batch may finish and commit, nothing new starts. */
  beginStop(): void {
    if (this.current === 'idle') this.current = 'stopped';
    if (this.current === 'running') this.current = 'stopping';
    this.ending.abort();
  }

  /** The group was left after a graceful stop. */
  finishStop(): void {
    if (this.current === 'stopping') this.current = 'stopped';
  }

  /** abort(): like a crash of the process, the in-flight batch is neither finished nor committed. */
  abort(): void {
    if (this.current === 'idle' || this.mayCommit) this.current = 'aborted';
    this.ending.abort();
    this.killed = true;
    for (const kill of this.pendingKills) kill();
    this.pendingKills.clear();
  }

  /** Returns false when the consumer had already ended, so a late failure is not reported as a crash. */
  crash(): boolean {
    if (this.current === 'crashed' || this.current === 'aborted' || this.current === 'stopped') return false;
    this.current = 'crashed';
    this.ending.abort();
    return true;
  }

  /** What a handler sees of its consumer. */
  context(heartbeat: () => Promise<void>): BatchContext {
    const isStopping = (): boolean => !this.running;
    return {
      get stopping() {
        return isStopping();
      },
      heartbeat,
    };
  }

  /** The batch's outcome, or 'aborted' as soon as abort() is called, without waiting for a hung handler. */
  untilAborted<T>(work: Promise<T>): Promise<T | 'aborted'> {
    if (this.killed) return Promise.resolve('aborted');
    return new Promise<T | 'aborted'>((resolve, reject) => {
      const kill = (): void => resolve('aborted');
      this.pendingKills.add(kill);
      void work.then(resolve, reject).finally(() => this.pendingKills.delete(kill));
    });
  }
}
