import type { Post } from '@moodstream/events';
import type { TagCursor } from './store/types';

/**
 * Pure paging logic for one `/v2/tagged` page: which posts are new, where the next page starts, and the
 * cursor after this page. `/tagged` has no offset, only `before` (epoch seconds, strictly older), so a
 * walk goes newest → oldest and stops at a floor: the newest timestamp already read (live) or the
 * lower bound (backfill).
 */
export interface WalkPageInput {
  mode: 'live' | 'backfill';
  cursor: TagCursor;
  /** live: the floor to use when the cursor has none yet (now − lookback); backfill: --from. Epoch ms. */
  floorMs: number;
  /** backfill: --to, exclusive. Epoch ms. */
  ceilingMs?: number;
  /** The `before` this page was requested with (null: the newest page). */
  requestedBefore: number | null;
  /**
   * Paging timestamps (epoch s) of every post object in the page, parsable or not, in page order: the post's
   * `featured_timestamp` when it has one (a featured tag is ordered, and paged, by when posts were featured —
   * the `/tagged` documentation), else its `timestamp`.
   */
  rawTimestamps: number[];
  /** Paging time (epoch ms) of the parsed posts that were featured; absent ids page by their own timestamp. */
  featuredMs?: ReadonlyMap<string, number>;
  /** The page's posts that parsed. */
  posts: Post[];
  /** The page size asked for (20). */
  limit: number;
}

export interface WalkPageResult {
  /** Posts inside the window, not yet read by this tag's cursor (other tags may have produced them). */
  fresh: Post[];
  cursor: TagCursor;
  /** The walk reached its floor (or the end of the tag's history). */
  finished: boolean;
  /** The whole page shared one second and a full page: posts of that second beyond it cannot be reached. */
  boundaryOverflow: boolean;
}

export function initialBackfillCursor(toMs: number): TagCursor {
  return { newestTs: null, newestIds: [], walk: { top: toMs, topIds: [], before: Math.ceil(toMs / 1000) }, done: false };
}

/** A page's `featured_timestamp`, else `timestamp`, as paging seconds; NaN when neither is a number. */
export function pagingSeconds(raw: unknown): number {
  if (typeof raw !== 'object' || raw === null) return NaN;
  const { featured_timestamp: featured, timestamp } = raw as { featured_timestamp?: unknown; timestamp?: unknown };
  if (typeof featured === 'number' && Number.isFinite(featured) && featured > 0) return featured;
  return typeof timestamp === 'number' && Number.isFinite(timestamp) ? timestamp : NaN;
}

export function walkPage(input: WalkPageInput): WalkPageResult {
  const { cursor, mode } = input;
  // Live walks compare paging times (the order the pages come in); a backfill's window is about when posts were made.
  const pagedAt = (p: Post): number => input.featuredMs?.get(p.id) ?? p.timestamp;
  const at = mode === 'live' ? pagedAt : (p: Post): number => p.timestamp;
  const floor = mode === 'live' ? (cursor.newestTs ?? input.floorMs) : input.floorMs;
  const floorIds = new Set(mode === 'live' && cursor.newestTs !== null ? cursor.newestIds : []);
  const floorInclusive = mode === 'backfill' || cursor.newestTs === null;
  const ceiling = input.ceilingMs ?? Infinity;

  const fresh = input.posts.filter((p) => {
    const t = at(p);
    if (t >= ceiling) return false;
    if (t > floor) return true;
    return t === floor && (floorInclusive || !floorIds.has(p.id));
  });

  const seconds = input.rawTimestamps.filter((t) => Number.isFinite(t));
  const minSec = seconds.length > 0 ? Math.min(...seconds) : null;
  const maxSec = seconds.length > 0 ? Math.max(...seconds) : null;
  const pageFull = input.rawTimestamps.length >= input.limit;
  const finished = !pageFull || minSec === null || minSec * 1000 < floor;

  // A new live walk starts at the newest post of its first page.
  let walk = cursor.walk;
  if (mode === 'live' && walk === null && maxSec !== null) {
    const top = Math.max(...input.posts.map(pagedAt), maxSec * 1000);
    walk = { top, topIds: input.posts.filter((p) => pagedAt(p) === top).map((p) => p.id), before: null };
  }

  if (finished) {
    if (mode === 'backfill') return { fresh, cursor: { ...cursor, walk: null, done: true }, finished, boundaryOverflow: false };
    if (walk === null) return { fresh, cursor, finished, boundaryOverflow: false };
    const previous = cursor.newestTs;
    const newestTs = previous === null ? walk.top : Math.max(previous, walk.top);
    const newestIds = previous !== null && previous === walk.top ? [...new Set([...cursor.newestIds, ...walk.topIds])] : newestTs === walk.top ? walk.topIds : cursor.newestIds;
    return { fresh, cursor: { newestTs, newestIds, walk: null }, finished, boundaryOverflow: false };
  }

  // More pages to read. Posts sharing the page's last second may continue on the next page (the page
  // ends after `limit` posts wherever that falls, even after a lone post of its second), and `before` is
  // strict: always ask again from one second later and let de-duplication drop the repeats.
  let before = (minSec as number) + 1;
  let boundaryOverflow = false;
  if (input.requestedBefore !== null && before >= input.requestedBefore) {
    // A full page of one second: overlapping would ask for the same page forever.
    before = minSec as number;
    boundaryOverflow = true;
  }
  return { fresh, cursor: { ...cursor, walk: { ...(walk ?? { top: floor, topIds: [] }), before } }, finished, boundaryOverflow };
}
