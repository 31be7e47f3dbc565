import { AbortedError, errorMessage, retry, sleep } from '@moodstream/core';
import type { Post } from '@moodstream/events';
import {
  TAGGED_PAGE_LIMIT,
  TumblrClient,
  TumblrRejectedError,
  isTumblrTransient,
  pagingSeconds,
  parseTumblrPost,
  tumblrErrorKind,
  tumblrRetryAfterMs,
  walkPage,
  type TagCursor,
  type TaggedPage,
} from '@moodstream/tumblr';
import type { ApiContext } from './run-context';

export interface TagState {
  tag: string;
  cursorKey: string;
  cursor: TagCursor;
  /** live: earliest time of the next poll when no walk is in progress. */
  dueAt: number;
  finished: boolean;
  /** Tumblr refused this tag for good (404, other permanent 4xx): it is not asked for again in this run. */
  paused: boolean;
}

/** What differs between a live and a backfill walk; everything else about reading `/tagged` is the same. */
export interface WalkPolicy {
  mode: 'live' | 'backfill';
  /** The oldest post time (epoch ms) a walk reads down to when the cursor does not say. */
  floorMs(now: number): number;
  /** Posts at or after this time (epoch ms) are not this run's. */
  ceilingMs?: number;
  /** A tag's walk reached its floor: poll again later (live) or be done with the tag (backfill). */
  walkEnded(state: TagState, now: number): void;
  /** Every tag refused: nothing left to do is a failure for a live run, an end for a backfill. */
  failWhenAllRefused: boolean;
  /**
   * Live: re-reads the watched tags at most every `everyMs` (and at the start). Tags to add are polled next, before
   * the tags already in turn (a new tag's first walk is its last hour); tags to remove are dropped at once.
   */
  refresh?: { everyMs: number; run(states: readonly TagState[], now: number): Promise<{ add: TagState[]; remove: string[] }> };
  /** A page of `tag` was delivered (for the ingester's report). */
  onPolled?: (tag: string, now: number) => void;
}

/**
 * Walks the tags' `/v2/tagged` pages in turns — one page per turn for each tag with work, every page paid for from
 * the budget — parses each page, hands the new posts to the sink with the moved cursor, and returns when every tag is
 * finished (or at stop()).
 */
export async function walkTags(ctx: ApiContext, states: TagState[], policy: WalkPolicy): Promise<void> {
  const { config, clock, logger, metrics, signal, backoff, budget, sink, stats } = ctx;
  const client = new TumblrClient({
    apiKey: config.TUMBLR_API_KEY ?? '',
    baseUrl: config.TUMBLR_API_URL,
    timeoutMs: config.INGEST_REQUEST_TIMEOUT_MS,
    ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
    // Every answer's counts reach the budget (a 429's too): an exhausted window pauses every request until its
    // reset, persisted, so a restart waits too.
    onRateLimit: (info) => {
      budget.observe(info).catch((persistError: unknown) => {
        logger.warn({ err: errorMessage(persistError) }, 'could not persist the rate-limit state');
      });
    },
  });

  /**
   * One `/tagged` call, paid for from the budget. A transient failure (429, 5xx, network, malformed answer) pauses
   * every request — for the 429's Retry-After or its spent window's reset, else a jittered backoff — and the call is
   * made again; a bad key or a refused tag is not.
   */
  const fetchPage = (state: TagState, before: number | null): Promise<TaggedPage> =>
    retry(
      async () => {
        if (!(await budget.acquire(signal))) throw new AbortedError('stopped while waiting for the request budget');
        stats.requests++;
        const page = await client.tagged({ tag: state.tag, before, limit: TAGGED_PAGE_LIMIT });
        metrics.requests.inc({ tag: state.tag, outcome: 'ok' });
        stats.pages++;
        return page;
      },
      {
        ...backoff,
        retries: Infinity,
        shouldRetry: isTumblrTransient,
        delayFor: tumblrRetryAfterMs,
        onRetry: (error, attempt, delayMs) => {
          const kind = tumblrErrorKind(error);
          metrics.requests.inc({ tag: state.tag, outcome: kind });
          metrics.errors.inc({ kind });
          logger.warn({ tag: state.tag, kind, err: errorMessage(error), attempt, delayMs }, 'Tumblr request failed; pausing all requests');
          // Persisted, so a restart during the pause waits too; the waiting itself is retry's.
          budget.pauseUntil(clock.now() + delayMs).catch((persistError: unknown) => {
            logger.warn({ err: errorMessage(persistError) }, 'could not persist the request pause');
          });
        },
      },
    );

  /** A page's posts parsed, the new ones delivered, the tag's cursor moved. A failure here is ours, not Tumblr's. */
  const deliverPage = async (state: TagState, page: TaggedPage, requestedBefore: number | null): Promise<void> => {
    const now = clock.now();
    const posts: Post[] = [];
    const rawTimestamps: number[] = [];
    const featuredMs = new Map<string, number>();
    for (const raw of page.posts) {
      // A featured tag is paged by `featured_timestamp`, everything else by `timestamp`.
      const paging = pagingSeconds(raw);
      rawTimestamps.push(paging);
      const parsed = parseTumblrPost(raw, {
        foundUnder: state.tag,
        watchedTopics: ctx.watched,
        source: policy.mode,
        ingestedAt: now,
        minEnglishWords: config.INGEST_MIN_ENGLISH_WORDS,
      });
      if (parsed.ok) {
        posts.push(parsed.post);
        if (Number.isFinite(paging) && paging * 1000 !== parsed.post.timestamp) featuredMs.set(parsed.post.id, paging * 1000);
        for (const reason of parsed.cleaned) metrics.cleaned.inc({ reason });
      } else {
        metrics.skipped.inc({ reason: parsed.reason });
        logger.debug({ tag: state.tag, id: parsed.id, reason: parsed.reason, detail: parsed.detail }, 'post skipped');
      }
    }
    const result = walkPage({
      mode: policy.mode,
      cursor: state.cursor,
      floorMs: policy.floorMs(now),
      ...(policy.ceilingMs === undefined ? {} : { ceilingMs: policy.ceilingMs }),
      requestedBefore,
      rawTimestamps,
      featuredMs,
      posts,
      limit: TAGGED_PAGE_LIMIT,
    });
    if (result.boundaryOverflow) {
      metrics.errors.inc({ kind: 'boundary-overflow' });
      logger.warn({ tag: state.tag, before: requestedBefore }, 'a full page shares one second: posts of that second beyond it are unreachable');
    }
    stats.produced += await sink.deliver(state.tag, state.cursorKey, result.cursor, result.fresh);
    state.cursor = result.cursor;
    if (policy.mode === 'live' && state.cursor.newestTs !== null) metrics.cursorAge.set({ tag: state.tag }, Math.floor(state.cursor.newestTs / 1000));
    policy.onPolled?.(state.tag, now);
    if (result.finished) policy.walkEnded(state, clock.now());
  };

  /** The batch written ahead before a failure is reconciled with the bus; the store is tried until it answers. */
  const recoverPending = (): Promise<number> =>
    retry(() => sink.recover(), {
      ...backoff,
      retries: Infinity,
      shouldRetry: (error) => !(error instanceof AbortedError),
      onRetry: (error, attempt, delayMs) => {
        metrics.errors.inc({ kind: 'store' });
        logger.warn({ err: errorMessage(error), attempt, delayMs }, 'recovering the pending batch failed; retrying');
      },
    });

  /**
   * Tumblr refused a tag for good: logged once with the tag, counted, and the tag left alone for the rest of the run
   * (its cursor untouched, so a later run tries it afresh).
   */
  const pauseTag = (state: TagState, error: TumblrRejectedError): void => {
    state.paused = true;
    state.finished = true;
    metrics.requests.inc({ tag: state.tag, outcome: 'rejected' });
    metrics.errors.inc({ kind: 'rejected' });
    logger.error({ tag: state.tag, status: error.httpStatus, err: error.message }, 'Tumblr refused this tag; it is paused for this run');
    if (policy.failWhenAllRefused && states.every((s) => s.paused)) throw error;
  };

  let turn = 0;
  // Set when a page failed after its batch was written ahead (a store or bus failure): the batch
  // may be on the bus already, so it is reconciled before anything else is read.
  let needsRecovery = false;
  let nextRefresh = 0;
  while (!signal.aborted) {
    if (needsRecovery) {
      stats.produced += await recoverPending();
      needsRecovery = false;
    }
    if (policy.refresh !== undefined && clock.now() >= nextRefresh) {
      nextRefresh = clock.now() + policy.refresh.everyMs;
      const change = await policy.refresh.run(states, clock.now());
      for (let i = states.length - 1; i >= 0; i--) {
        if (!change.remove.includes((states[i] as TagState).tag)) continue;
        states.splice(i, 1);
        if (i < turn) turn -= 1;
      }
      if (turn >= states.length) turn = 0;
      states.splice(turn, 0, ...change.add);
    }
    const now = clock.now();
    const ready = (s: TagState): boolean => !s.finished && (s.cursor.walk !== null || s.dueAt <= now);
    let chosen: TagState | undefined;
    for (let i = 0; i < states.length; i++) {
      const candidate = states[(turn + i) % states.length] as TagState;
      if (ready(candidate)) {
        chosen = candidate;
        turn = (turn + i + 1) % states.length;
        break;
      }
    }
    if (chosen === undefined) {
      if (policy.refresh === undefined && states.every((s) => s.finished)) return;
      // Woken for the next due tag, or the next re-read of the watched tags, whichever comes first.
      const next = Math.min(...states.filter((s) => !s.finished).map((s) => s.dueAt), policy.refresh === undefined ? Infinity : nextRefresh);
      await sleep(Math.max(10, next - now), { clock, signal });
      continue;
    }
    const before = chosen.cursor.walk?.before ?? null;
    let page: TaggedPage;
    try {
      page = await fetchPage(chosen, before);
    } catch (error) {
      if (!(error instanceof TumblrRejectedError)) throw error;
      pauseTag(chosen, error);
      continue;
    }
    try {
      await deliverPage(chosen, page, before);
    } catch (error) {
      if (error instanceof AbortedError) throw error;
      needsRecovery = true;
      metrics.errors.inc({ kind: 'pipeline' });
      logger.warn({ tag: chosen.tag, err: errorMessage(error) }, 'storing or producing a page failed; reconciling it with the bus');
    }
  }
}
