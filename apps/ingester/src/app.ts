import type { Bus, Producer } from '@moodstream/bus';
import { backoffDelay, createMetricsRegistry, errorMessage, systemClock, type Clock, type Logger, type Registry } from '@moodstream/core';
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
  TumblrRateLimitError,
  initialBackfillCursor,
  parseTumblrPost,
  tumblrErrorKind,
  walkPage,
  type IngestStore,
  type TagCursor,
} from '@moodstream/tumblr';
import { replayArchive } from './archive';
import type { IngestMode } from './cli';
import { watchedTopics, type IngesterConfig } from './config';
import { createIngesterMetrics, type IngesterMetrics } from './metrics';
import { PostRecorder } from './recorder';
import { PostSink, StopRequested } from './sink';

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
  registry?: Registry;
}

export interface IngesterStats {
  produced: number;
  requests: number;
  pages: number;
}

export interface IngesterApp {
  /** Connects, recovers an interrupted batch, and starts the loop in the background. */
  start(): Promise<void>;
  /** Stops polling, lets the page in hand finish (produce + commit), closes what it opened. */
  stop(): Promise<void>;
  /** Settles when the run ends: backfill/archive finished, stop() called, or a fatal error (bad key). */
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
  const watched = new Set(run.mode === 'archive' ? [] : watchedTopics(config, run.mode === 'backfill' ? run.tags : run.tags));

  let stopping = false;
  let store: IngestStore | null = null;
  let ownsStore = false;
  let producer: Producer | null = null;
  let sink: PostSink | null = null;
  let loop: Promise<void> | null = null;
  const stats: IngesterStats = { produced: 0, requests: 0, pages: 0 };
  let wake: (() => void) | null = null;
  let resolveDone: () => void = () => undefined;
  let rejectDone: (error: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  // A caller that only awaits start()/stop() must not see an unhandled rejection.
  done.catch(() => undefined);

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = clock.setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clock.clearTimeout(timer);
        wake = null;
        resolve();
      };
    });

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

  /** One API call for one tag, its posts delivered and its cursor moved. */
  const step = async (state: TagState, client: TumblrClient): Promise<void> => {
    const requestedBefore = state.cursor.walk?.before ?? null;
    const page = await client.tagged({ tag: state.tag, before: requestedBefore, limit: TAGGED_PAGE_LIMIT });
    metrics.requests.inc({ tag: state.tag, outcome: 'ok' });
    stats.pages++;
    await budget?.observe(page.rateLimit);
    const now = clock.now();
    const posts: Post[] = [];
    const rawTimestamps: number[] = [];
    for (const raw of page.posts) {
      const ts = typeof raw === 'object' && raw !== null ? (raw as { timestamp?: unknown }).timestamp : undefined;
      if (typeof ts === 'number' && Number.isFinite(ts)) rawTimestamps.push(ts);
      else rawTimestamps.push(NaN);
      const parsed = parseTumblrPost(raw, {
        foundUnder: state.tag,
        watchedTopics: watched,
        source: run.mode === 'backfill' ? 'backfill' : 'live',
        ingestedAt: now,
        minEnglishWords: config.INGEST_MIN_ENGLISH_WORDS,
      });
      if (parsed.ok) {
        posts.push(parsed.post);
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

  /** Round-robin over the tags that have work, one page per turn, every page paid for from the budget. */
  const pollTags = async (states: TagState[]): Promise<void> => {
    const client = new TumblrClient({
      apiKey: config.TUMBLR_API_KEY ?? '',
      baseUrl: config.TUMBLR_API_URL,
      timeoutMs: config.INGEST_REQUEST_TIMEOUT_MS,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
    let turn = 0;
    let failures = 0;
    // Set when a page failed after its batch was written ahead (a store or bus failure): the batch
    // may be on the bus already, so it is reconciled before anything else is read.
    let needsRecovery = false;
    while (!stopping) {
      if (needsRecovery) {
        try {
          stats.produced += await (sink as PostSink).recover();
          needsRecovery = false;
        } catch (error) {
          if (error instanceof StopRequested) return;
          metrics.errors.inc({ kind: 'store' });
          const delay = backoffDelay(Math.min(failures++, 16), config.INGEST_BACKOFF_INITIAL_MS, config.INGEST_BACKOFF_MAX_MS, 0.5);
          logger.warn({ err: errorMessage(error), delayMs: delay }, 'recovering the pending batch failed; retrying');
          await sleep(delay);
          continue;
        }
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
        await sleep(Math.max(10, next - now));
        continue;
      }
      if (!(await (budget as RequestBudget).acquire(() => stopping))) return;
      stats.requests++;
      try {
        await step(chosen, client);
        failures = 0;
      } catch (error) {
        if (error instanceof StopRequested) return;
        if (error instanceof TumblrAuthError) throw error;
        const kind = tumblrErrorKind(error);
        if (kind === 'other') {
          // The call itself succeeded; storing or producing its page did not.
          needsRecovery = true;
          metrics.errors.inc({ kind: 'pipeline' });
        } else {
          metrics.requests.inc({ tag: chosen.tag, outcome: kind });
          metrics.errors.inc({ kind });
        }
        const retryAfter = error instanceof TumblrRateLimitError ? error.retryAfterMs : null;
        const delay = retryAfter ?? backoffDelay(Math.min(failures, 16), config.INGEST_BACKOFF_INITIAL_MS, config.INGEST_BACKOFF_MAX_MS, 0.5);
        failures++;
        logger.warn({ tag: chosen.tag, kind, err: errorMessage(error), delayMs: delay }, 'Tumblr request failed; pausing all requests');
        await (budget as RequestBudget).pauseUntil(clock.now() + delay);
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
        isStopping: () => stopping,
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
      states.push({ tag, cursorKey, cursor, dueAt: 0, finished: run.mode === 'backfill' && cursor.done === true });
      if (saved !== null) logger.info({ tag, cursor: saved }, 'resuming from the saved cursor');
    }
    await pollTags(states);
    if (run.mode === 'backfill' && states.every((s) => s.finished)) logger.info({ tags, produced: stats.produced, requests: stats.requests }, 'backfill finished');
  };

  return {
    registry,
    metrics,
    tags,
    done,
    stats: () => ({ ...stats }),
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
      sink = new PostSink({
        bus,
        producer,
        topic,
        store: store ?? new MemoryIngestStore(),
        metrics,
        logger,
        clock,
        recorder,
        isStopping: () => stopping,
        backoff: { initialMs: config.INGEST_BACKOFF_INITIAL_MS, maxMs: config.INGEST_BACKOFF_MAX_MS },
      });
      if (store !== null) stats.produced += await sink.recover();
      logger.info({ mode: run.mode, tags, topic, store: store?.kind ?? 'none' }, 'ingester started');
      loop = runLoop().then(resolveDone, (error: unknown) => {
        rejectDone(error);
      });
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      await producer?.close();
      producer = null;
      if (ownsStore) await store?.close();
      store = null;
      resolveDone();
    },
  };
}
