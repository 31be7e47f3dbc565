import { WINDOW_MS, type ExamplePost, type WindowSize } from '@moodstream/events';
import { WINDOW_SIZES } from './windows';

/**
 * The embedded store's history under a byte budget. The in-memory store keeps each window size for its retention
 * (1-minute buckets a day, 5-minute ones two weeks, …) like the Redis store, but in the process's own heap, where
 * the word-shift tables and example posts of every bucket add up to about 1 MB a minute of the demo's text. Over the
 * budget, the store drops the oldest history first, finest size first: a bucket's detail (its word-shift table and
 * example posts) before any bucket's counts, so the charts stay whole longest. Oldest is by event time (the bucket's
 * start), and a bucket that ends within `keepMs` of its namespace's newest minute is never dropped: the alert
 * detector's baseline and the windows late posts can still reach. (Event time, not write time: the demo's history,
 * replayed at start, is old at once; and an archive of old posts measures "newest" by its own clock.)
 *
 * Sizes are estimates of V8 heap bytes per entry. Measured as heap used after a full GC, with four hours of the
 * demo's text written into a store, the heap held 0.93 of the estimate for terms, 1.07 for examples, 0.97 in all.
 * Exact accounting is not possible from JavaScript; what matters is that the estimate grows with what is kept.
 */
export const HISTORY_BYTES = {
  /** One term of a word-shift table: the Map entry, the term string, its priority and mass array. */
  term: 225,
  /** A word-shift table's own objects (its Map, `other`, the entry wrapping it), without terms. */
  table: 400,
  /**
   * One example post's entry and its share of the post's objects; its strings are added by length, half per entry:
   * one post is kept at several sizes and emotions, sharing one object.
   */
  example: 180,
  /** A bucket's statistics (three arrays of six numbers), its key and the entry wrapping it. */
  bucket: 450,
} as const;

/** V8 keeps a string of Latin-1 characters in one byte a character, any other in two. */
function stringBytes(text: string | null): number {
  if (text === null) return 0;
  // eslint-disable-next-line no-control-regex -- the Latin-1 range is the point
  return /[^\u0000-\u00ff]/.test(text) ? 2 * text.length : text.length;
}

export function exampleBytes(post: ExamplePost): number {
  const strings = stringBytes(post.postId) + stringBytes(post.text) + stringBytes(post.url) + stringBytes(post.imageUrl);
  return HISTORY_BYTES.example + Math.round(strings / 2);
}

/** One piece of history a store can drop: a bucket's detail (a table, one emotion's examples) or its counts. */
export interface HistoryEntry {
  tier: 'detail' | 'counts';
  /** The store namespace (live, a replay): each has its own newest minute. */
  ns: string;
  size: WindowSize;
  /** The bucket's start: oldest goes first within a size. */
  start: number;
  bytes: number;
  drop(): void;
}

export interface HistoryBudget {
  /** Estimated bytes of history the store may keep (HISTORY_BYTES). */
  budgetBytes: number;
  /** Buckets ending this close to their namespace's newest minute are kept whatever the budget (`protectedHistoryMs`). */
  keepMs: number;
  /** Told each time the store drops history: the operator's log line and metric. */
  onEvict?: (eviction: HistoryEviction) => void;
}

export interface HistoryEviction {
  /** Estimated bytes before and after. */
  beforeBytes: number;
  afterBytes: number;
  budgetBytes: number;
  /** Entries dropped per tier and size. */
  dropped: Record<HistoryEntry['tier'], Partial<Record<WindowSize, number>>>;
  /** The newest bucket start among dropped entries: history before it is thinner now. */
  droppedUpTo: number | null;
  /** True when what `keepMs` protects alone is over the budget: the budget is too small for the settings. */
  overBudget: boolean;
}

/** Evicting down to this share of the budget, not just under it, so a full store does not evict on every write. */
const EVICT_TO = 0.9;

/**
 * Drops entries, oldest detail of the finest size first, until the total is at most 90% of the budget. `total` is
 * the estimate of everything the store holds (entries included). Returns null when under budget.
 */
export function evictHistory(total: number, entries: () => HistoryEntry[], budget: HistoryBudget): HistoryEviction | null {
  if (total <= budget.budgetBytes) return null;
  const target = budget.budgetBytes * EVICT_TO;
  const all = entries();
  // Each namespace's newest minute: the end of its newest 1-minute bucket.
  const newest = new Map<string, number>();
  for (const entry of all) {
    if (entry.size === '1m') newest.set(entry.ns, Math.max(newest.get(entry.ns) ?? -Infinity, entry.start + WINDOW_MS['1m']));
  }
  const rank = (size: WindowSize): number => WINDOW_SIZES.indexOf(size);
  const candidates = all
    .filter((entry) => entry.start + WINDOW_MS[entry.size] <= (newest.get(entry.ns) ?? Infinity) - budget.keepMs)
    .sort((a, b) => (a.tier === b.tier ? 0 : a.tier === 'detail' ? -1 : 1) || rank(a.size) - rank(b.size) || a.start - b.start);
  const dropped: HistoryEviction['dropped'] = { detail: {}, counts: {} };
  let left = total;
  let droppedUpTo: number | null = null;
  for (const entry of candidates) {
    if (left <= target) break;
    entry.drop();
    left -= entry.bytes;
    dropped[entry.tier][entry.size] = (dropped[entry.tier][entry.size] ?? 0) + 1;
    droppedUpTo = Math.max(droppedUpTo ?? -Infinity, entry.start);
  }
  return { beforeBytes: total, afterBytes: left, budgetBytes: budget.budgetBytes, dropped, droppedUpTo, overBudget: left > budget.budgetBytes };
}
