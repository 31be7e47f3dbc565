/**
 * What the ingester must remember across restarts, behind one interface with a file implementation
 * (embedded mode) and a Redis one (distributed mode).
 */

/** Per-tag position. Timestamps are epoch ms. */
export interface TagCursor {
  /** Newest post timestamp fully walked back from (live: everything at or below it has been read). */
  newestTs: number | null;
  /** Ids seen at exactly `newestTs`, so a post published in the same second is not mistaken for old. */
  newestIds: string[];
  /**
   * A walk back in progress: it started at the newest post `top` and has read everything down to
   * (not including) `before` (epoch seconds, the API's paging parameter). Kept until the walk meets
   * `newestTs` (live) or the lower bound (backfill), so a restart resumes it instead of skipping the gap.
   */
  walk: { top: number; topIds: string[]; before: number | null } | null;
  /** Backfill only: the walk reached the lower bound. */
  done?: boolean;
}

export const EMPTY_CURSOR: TagCursor = { newestTs: null, newestIds: [], walk: null };

/** Posts about to be produced, written before producing so a crash in between can be reconciled with the bus. */
export interface PendingBatch {
  cursorKey: string;
  cursor: TagCursor;
  ids: string[];
  /** The posts themselves (already validated), so recovery can produce the ones the bus lacks. */
  posts: unknown[];
  /** Epoch ms range of the batch's post timestamps, inclusive. */
  minTs: number;
  maxTs: number;
}

export interface BucketState {
  tokens: number;
  updatedAt: number;
}

export interface BudgetState {
  buckets: Record<string, BucketState>;
  /** Epoch ms before which no request may be made (after a 429 or an exhausted server window). */
  pausedUntil: number;
}

export interface IngestStore {
  readonly kind: 'file' | 'redis' | 'memory';
  getCursor(key: string): Promise<TagCursor | null>;
  /** Which of these ids were already produced. */
  seen(ids: string[]): Promise<Set<string>>;
  setPending(batch: PendingBatch): Promise<void>;
  getPending(): Promise<PendingBatch | null>;
  /** Atomically: mark ids produced, move the cursor, clear the pending batch. */
  commit(update: { cursorKey: string; cursor: TagCursor; produced: { id: string; ts: number }[] }): Promise<void>;
  getBudget(): Promise<BudgetState | null>;
  saveBudget(state: BudgetState): Promise<void>;
  close(): Promise<void>;
}
