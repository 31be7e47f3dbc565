import type { Bus, Producer } from '@moodstream/bus';
import { AbortedError, createMetricsRegistry, errorMessage, retry, sleep, systemClock, type Clock, type Logger, type PartHealth, type Registry, type ServicePart } from '@moodstream/core';
import { TOPICS, normaliseTag, type Post } from '@moodstream/events';
import {
  EMPTY_CURSOR,
  FileIngestStore,
  MemoryIngestStore,
  RedisIngestStore,
  RequestBudget,
  TAGGED_PAGE_LIMIT,
  TumblrAuthError,
  TumblrClient,
  TumblrRejectedError,
  initialBackfillCursor,
  isTumblrTransient,
  pagingSeconds,
  parseTumblrPost,
  tumblrErrorKind,
  tumblrRetryAfterMs,
  walkPage,
  type IngestStore,
  type TagCursor,
  type TaggedPage,
} from '@moodstream/tumblr';
import { replayArchive } from './archive';
import type { IngestMode } from './cli';
import { watchedTopics, type IngesterConfig } from './config';
import { createIngesterMetrics, type IngesterMetrics } from './metrics';
import { PostRecorder } from './recorder';
import { PostSink, type Backoff } from './sink';

export interface IngesterAppOptions {
  config: IngesterConfig;
  bus: Bus;
  logger: Logger;
  clock?: Clock;
  /** Defaults to the store INGEST_STORE names (file, redis or memory); a store passed in is not closed by stop(). */
  cursorStore?: IngestStore;
  fetch?: typeof globalThis.fetch;
  /** What to do; default live on the watched topics. */
  run?: IngestMode;
  /** Tee every produced post to this NDJSON file. */
  record?: string | null;
  /** The process's registry (`runtime.registry`); a fresh one when absent (tests, several runs in one process). */
  registry?: Registry;
  /** Called once when the run fails by itself (a revoked key, an unreadable store): the runtime's crash policy. */
  onFatal?: (error: unknown) => void;
}

export interface IngesterStats {
  produced: number;
  requests: number;
  pages: number;
}

export interface IngesterApp extends ServicePart {
  /** Connects, recovers an interrupted batch, and starts the loop in the background. */
  start(): Promise<void>;
  /**
   * Stops polling and cuts every wait short (backoff, budget, poll interval, archive timing); the page in hand
   * finishes (produce + commit) when the bus is up. Closes what it opened.
   */
  stop(): Promise<void>;
  /** Not ok once the run has failed; the detail is the mode and the counts so far. */
  health(): PartHealth;
  /** Resolves when the run ends (backfill/archive finished, or stop()); rejects on a fatal error (bad key), as onFatal is called. */
  readonly done: Promise<void>;
  readonly registry: Registry;
  readonly metrics: IngesterMetrics;
  stats(): IngesterStats;
  /** Live mode: the watched tags in scheduling order. */
  readonly tags: readonly string[];
}

interface TagState {
  tag: string;
  cursorKey: string;
  cursor: TagCursor;
  /** live: earliest time of the next poll when no walk is in progress. */
  dueAt: number;
  finished: boolean;
  /** Tumblr refused this tag for good (404, other permanent 4xx): it is not asked for again in this run. */
  paused: boolean;
}

/**
 * The ingester: Tumblr `/v2/tagged` pages → parsed, de-duplicated Posts → the posts topic, within the
 * request budget, resumable across restarts. No I/O happens until start().
 */
export function createIngesterApp(options: IngesterAppOptions): IngesterApp {
  const { config, bus, logger } = options;
  const clock = options.clock ?? systemClock;
  const registry = options.registry ?? createMetricsRegistry('ingester');
  const run: IngestMode = options.run ?? { mode: 'live', tags: [] };
  // Logical name: the bus applies MOODSTREAM_TOPIC_PREFIX itself.
  const topic = TOPICS.posts;
  let budget: RequestBudget | null = null;
  const metrics = createIngesterMetrics(registry, () => budget);
  const recorder = options.record ? new PostRecorder(options.record) : null;
  const tags = run.mode === 'live' ? watchedTopics(config, run.tags) : run.mode === 'backfill' ? run.tags.map(normaliseTag) : [];
  const watched = new Set(run.mode === 'archive' ? [] : watchedTopics(config, run.tags));
  // stop() aborts it: every wait of the run (backoff, budget, poll interval, archive timing) ends at once.
  const stopping = new AbortController();
  const { signal } = stopping;
  const backoff: Backoff = { initialDelayMs: config.INGEST_BACKOFF_INITIAL_MS, maxDelayMs: config.INGEST_BACKOFF_MAX_MS, jitter: 0.5, clock, signal };

  let store: IngestStore | null = null;
  let ownsStore = false;
  let producer: Producer | null = null;
  let sink: PostSink | null = null;
  let loop: Promise<void> | null = null;
  let failure: unknown = null;
  const stats: IngesterStats = { produced: 0, requests: 0, pages: 0 };
  let resolveDone: () => void = () => undefined;
  let rejectDone: (error: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // A caller that only awaits start()/stop() (or takes failures through onFatal) must not see an unhandled rejection.
  done.catch(() => undefined);

  const openStore = async (): Promise<IngestStore> => {
    if (options.cursorStore !== undefined) return options.cursorStore;
    ownsStore = true;
    switch (config.INGEST_STORE) {
      case 'redis':
        return RedisIngestStore.connect({ url: config.REDIS_URL, prefix: config.INGEST_REDIS_PREFIX });
      case 'memory':
        return new MemoryIngestStore();
      case 'file':
        return FileIngestStore.open(config.INGEST_STATE_FILE);
    }
  };

  const cursorKeyFor = (tag: string): string =>
    run.mode === 'backfill' ? `backfill:${tag}:${run.from}:${run.to}` : `live:${tag}`;

  /**
   * One `/tagged` call, paid for from the budget. A transient failure (429, 5xx, network, malformed answer) pauses
   * every request — for the 429's Retry-After, else a jittered backoff — and the call is made again; a bad key is not.
   */
  const fetchPage = (state: TagState, client: TumblrClient, before: number | null): Promise<TaggedPage> =>
    retry(
      async () => {
        if (!(await (budget as RequestBudget).acquire(signal))) throw new AbortedError('stopped while waiting for the request budget');
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
          (budget as RequestBudget).pauseUntil(clock.now() + delayMs).catch((persistError: unknown) => {
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
        watchedTopics: watched,
        source: run.mode === 'backfill' ? 'backfill' : 'live',
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
      mode: run.mode === 'backfill' ? 'backfill' : 'live',
      cursor: state.cursor,
      floorMs: run.mode === 'backfill' ? run.from : now - config.INGEST_LIVE_LOOKBACK_MS,
      ...(run.mode === 'backfill' ? { ceilingMs: run.to } : {}),
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
    const produced = await (sink as PostSink).deliver(state.tag, state.cursorKey, result.cursor, result.fresh);
    stats.produced += produced;
    state.cursor = result.cursor;
    if (run.mode === 'live' && state.cursor.newestTs !== null) metrics.cursorAge.set({ tag: state.tag }, Math.floor(state.cursor.newestTs / 1000));
    if (result.finished) {
      if (run.mode === 'backfill') state.finished = true;
      else state.dueAt = clock.now() + config.INGEST_POLL_INTERVAL_MS;
    }
  };

  /** The batch written ahead before a failure is reconciled with the bus; the store is tried until it answers. */
  const recoverPending = (): Promise<number> =>
    retry(() => (sink as PostSink).recover(), {
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
   * (its cursor untouched, so a later run tries it afresh). A live run with every tag refused has nothing left to do
   * and fails, rather than idling as if healthy.
   */
  const pauseTag = (state: TagState, error: TumblrRejectedError, states: TagState[]): void => {
    state.paused = true;
    state.finished = true;
    metrics.requests.inc({ tag: state.tag, outcome: 'rejected' });
    metrics.errors.inc({ kind: 'rejected' });
    logger.error({ tag: state.tag, status: error.httpStatus, err: error.message }, 'Tumblr refused this tag; it is paused for this run');
    if (run.mode === 'live' && states.every((s) => s.paused)) throw error;
  };

  /** Round-robin over the tags that have work, one page per turn, every page paid for from the budget. */
  const pollTags = async (states: TagState[]): Promise<void> => {
    const client = new TumblrClient({
      apiKey: config.TUMBLR_API_KEY ?? '',
      baseUrl: config.TUMBLR_API_URL,
      timeoutMs: config.INGEST_REQUEST_TIMEOUT_MS,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      // Every answer's counts reach the budget (a 429's too): an exhausted window pauses every request until its
      // reset, persisted, so a restart waits too.
      onRateLimit: (info) => {
        (budget as RequestBudget).observe(info).catch((persistError: unknown) => {
          logger.warn({ err: errorMessage(persistError) }, 'could not persist the rate-limit state');
        });
      },
    });
    let turn = 0;
    // Set when a page failed after its batch was written ahead (a store or bus failure): the batch
    // may be on the bus already, so it is reconciled before anything else is read.
    let needsRecovery = false;
    while (!signal.aborted) {
      if (needsRecovery) {
        stats.produced += await recoverPending();
        needsRecovery = false;
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
        if (states.every((s) => s.finished)) return;
        const next = Math.min(...states.filter((s) => !s.finished).map((s) => s.dueAt));
        await sleep(Math.max(10, next - now), { clock, signal });
        continue;
      }
      const before = chosen.cursor.walk?.before ?? null;
      let page: TaggedPage;
      try {
        page = await fetchPage(chosen, client, before);
      } catch (error) {
        if (!(error instanceof TumblrRejectedError)) throw error;
        pauseTag(chosen, error, states);
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
  };

  const runLoop = async (): Promise<void> => {
    if (run.mode === 'archive') {
      const result = await replayArchive({
        file: run.file,
        speed: run.speed,
        clock,
        logger,
        metrics,
        signal,
        send: async (posts) => {
          await (sink as PostSink).produce(posts);
          await recorder?.append(posts);
        },
      });
      stats.produced += result.produced;
      logger.info({ ...result, file: run.file }, 'archive replay finished');
      return;
    }
    const states: TagState[] = [];
    for (const tag of tags) {
      const cursorKey = cursorKeyFor(tag);
      const saved = await (store as IngestStore).getCursor(cursorKey);
      const cursor = saved ?? (run.mode === 'backfill' ? initialBackfillCursor(run.to) : EMPTY_CURSOR);
      states.push({ tag, cursorKey, cursor, dueAt: 0, finished: run.mode === 'backfill' && cursor.done === true, paused: false });
      if (saved !== null) logger.info({ tag, cursor: saved }, 'resuming from the saved cursor');
    }
    await pollTags(states);
    if (run.mode === 'backfill' && states.every((s) => s.finished)) {
      const paused = states.filter((s) => s.paused).map((s) => s.tag);
      logger.info({ tags, paused, produced: stats.produced, requests: stats.requests }, 'backfill finished');
    }
  };

  /** The run ended by itself with an error: not a stop. */
  const fail = (error: unknown): void => {
    failure = error;
    rejectDone(error);
    options.onFatal?.(error);
  };

  return {
    registry,
    metrics,
    tags,
    done,
    stats: () => ({ ...stats }),
    health: () => ({ ok: failure === null, detail: { mode: run.mode, ...stats } }),
    async start() {
      if (run.mode !== 'archive' && (config.TUMBLR_API_KEY === undefined || config.TUMBLR_API_KEY === '')) {
        throw new TumblrAuthError(401);
      }
      producer = await bus.producer();
      await bus.ensureTopics([{ name: topic }]);
      if (run.mode !== 'archive') {
        store = await openStore();
        budget = new RequestBudget({ perMinute: config.INGEST_BUDGET_PER_MINUTE, perHour: config.INGEST_BUDGET_PER_HOUR, perDay: config.INGEST_BUDGET_PER_DAY }, clock, store);
        await budget.load();
      }
      sink = new PostSink({ bus, producer, topic, store: store ?? new MemoryIngestStore(), metrics, logger, recorder, backoff });
      if (store !== null) stats.produced += await sink.recover();
      logger.info({ mode: run.mode, tags, topic, store: store?.kind ?? 'none' }, 'ingester started');
      loop = runLoop().then(resolveDone, (error: unknown) => {
        // A wait cut short by stop() is how a stop ends the loop, not a failure.
        if (signal.aborted && error instanceof AbortedError) resolveDone();
        else fail(error);
      });
    },
    async stop() {
      stopping.abort(new Error('the ingester is stopping'));
      await loop;
      await producer?.close();
      producer = null;
      if (ownsStore) await store?.close();
      store = null;
      resolveDone();
    },
  };
}
