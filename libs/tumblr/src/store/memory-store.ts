import type { BudgetState, IngestStore, PendingBatch, TagCursor } from './types';

/**
 * The in-process state both durable stores share: cursors, the produced-id set (bounded, oldest
 * post timestamps evicted first), the pending batch and the budget.
 */
export class StoreState {
  readonly cursors = new Map<string, TagCursor>();
  readonly produced = new Map<string, number>();
  pending: PendingBatch | null = null;
  budget: BudgetState | null = null;

  constructor(readonly maxProduced: number) {}

  apply(op: StoreOp): void {
    switch (op.t) {
      case 'pending':
        this.pending = op.batch;
        break;
      case 'budget':
        this.budget = op.state;
        break;
      case 'snapshot':
        this.cursors.clear();
        for (const [key, cursor] of op.cursors) this.cursors.set(key, cursor);
        this.produced.clear();
        for (const [id, ts] of op.produced) this.produced.set(id, ts);
        this.pending = op.pending;
        this.budget = op.budget;
        break;
      case 'commit':
        this.cursors.set(op.cursorKey, op.cursor);
        for (const [id, ts] of op.produced) this.produced.set(id, ts);
        this.pending = null;
        this.evict();
        break;
    }
  }

  private evict(): void {
    if (this.produced.size <= this.maxProduced) return;
    const byAge = [...this.produced].sort((a, b) => a[1] - b[1]);
    for (const [id] of byAge.slice(0, this.produced.size - this.maxProduced)) this.produced.delete(id);
  }
}

export type StoreOp =
  | { t: 'pending'; batch: PendingBatch | null }
  | { t: 'budget'; state: BudgetState }
  | { t: 'commit'; cursorKey: string; cursor: TagCursor; produced: [string, number][] }
  | { t: 'snapshot'; cursors: [string, TagCursor][]; produced: [string, number][]; pending: PendingBatch | null; budget: BudgetState | null };

/** For unit tests and single-shot runs that need no durability. */
export class MemoryIngestStore implements IngestStore {
  readonly kind: IngestStore['kind'] = 'memory';
  protected readonly state: StoreState;

  constructor(options: { maxProduced?: number } = {}) {
    this.state = new StoreState(options.maxProduced ?? 500_000);
  }

  protected record(op: StoreOp): Promise<void> {
    this.state.apply(op);
    return Promise.resolve();
  }

  getCursor(key: string): Promise<TagCursor | null> {
    return Promise.resolve(this.state.cursors.get(key) ?? null);
  }

  seen(ids: string[]): Promise<Set<string>> {
    return Promise.resolve(new Set(ids.filter((id) => this.state.produced.has(id))));
  }

  setPending(batch: PendingBatch): Promise<void> {
    return this.record({ t: 'pending', batch });
  }

  getPending(): Promise<PendingBatch | null> {
    return Promise.resolve(this.state.pending);
  }

  commit(update: { cursorKey: string; cursor: TagCursor; produced: { id: string; ts: number }[] }): Promise<void> {
    return this.record({ t: 'commit', cursorKey: update.cursorKey, cursor: update.cursor, produced: update.produced.map((p) => [p.id, p.ts]) });
  }

  getBudget(): Promise<BudgetState | null> {
    return Promise.resolve(this.state.budget);
  }

  saveBudget(state: BudgetState): Promise<void> {
    return this.record({ t: 'budget', state });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
