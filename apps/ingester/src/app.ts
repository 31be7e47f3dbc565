import type { Bus, Producer } from '@moodstream/bus';
import { AbortedError, createMetricsRegistry, systemClock, type Clock, type Logger, type PartHealth, type Registry, type ServicePart } from '@moodstream/core';
import { TOPICS, normaliseTag } from '@moodstream/events';
import { Redis } from 'ioredis';
import { createFileTopicRegistry, createRedisTopicRegistry, type TopicRegistryStore } from '@moodstream/trends';
import { FileIngestStore, MemoryIngestStore, RedisIngestStore, RequestBudget, TumblrAuthError, type IngestStore } from '@moodstream/tumblr';
import { runArchive } from './archive-runner';
import { runBackfill } from './backfill-runner';
import type { IngestMode } from './cli';
import { watchedTopics, type IngesterConfig } from './config';
import { runLive } from './live-runner';
import { createIngesterMetrics, type IngesterMetrics } from './metrics';
import { PostRecorder } from './recorder';
import type { ApiContext, IngesterStats, RunContext } from './run-context';
import { PostSink, type Backoff } from './sink';

export type { IngesterStats } from './run-context';

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
  /**
   * Live: tags added at run time (the dashboard's watched topics), re-read each poll. Default: the registry
   * INGEST_TOPIC_REGISTRY names (off, file or redis); one passed in (the embedded mode's) is not closed by stop().
   */
  topicRegistry?: TopicRegistryStore | null;
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
  let topicRegistry: TopicRegistryStore | null = null;
  let registryRedis: Redis | null = null;
  // stop() aborts it: every wait of the run (backoff, budget, poll interval, archive timing) ends at once.
  const stopping = new AbortController();
  const { signal } = stopping;
  const backoff: Backoff = { initialDelayMs: config.INGEST_BACKOFF_INITIAL_MS, maxDelayMs: config.INGEST_BACKOFF_MAX_MS, jitter: 0.5, clock, signal };

  let store: IngestStore | null = null;
  let ownsStore = false;
  let producer: Producer | null = null;
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

  const openRegistry = async (): Promise<TopicRegistryStore | null> => {
    if (options.topicRegistry !== undefined) return options.topicRegistry;
    switch (config.INGEST_TOPIC_REGISTRY) {
      case 'off':
        return null;
      case 'file':
        return createFileTopicRegistry(config.INGEST_TOPIC_REGISTRY_FILE, { clock });
      case 'redis': {
        const redis = new Redis(config.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
        // Each poll re-reads the registry and logs a failure itself; without a listener ioredis would print too.
        redis.on('error', () => undefined);
        await redis.connect();
        registryRedis = redis;
        return createRedisTopicRegistry(redis, { prefix: config.INGEST_TOPIC_REGISTRY_PREFIX, clock });
      }
    }
  };

  /** One runner per mode, over the shared sink; live and backfill also get the store and the budget. */
  const runnerFor = (context: RunContext, api: Pick<ApiContext, 'store' | 'budget'> | null): Promise<void> => {
    if (run.mode === 'archive') return runArchive(context, run);
    // start() opens both before it gets here for every mode that calls the API.
    if (api === null) return Promise.reject(new Error('a live or backfill run needs the store and the budget'));
    const apiContext: ApiContext = { ...context, ...api, watched, registry: topicRegistry };
    return run.mode === 'live' ? runLive(apiContext, tags) : runBackfill(apiContext, tags, run);
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
      let api: Pick<ApiContext, 'store' | 'budget'> | null = null;
      if (run.mode !== 'archive') {
        const opened = await openStore();
        store = opened;
        const requestBudget = new RequestBudget({ perMinute: config.INGEST_BUDGET_PER_MINUTE, perHour: config.INGEST_BUDGET_PER_HOUR, perDay: config.INGEST_BUDGET_PER_DAY }, clock, opened);
        budget = requestBudget;
        await requestBudget.load();
        api = { store: opened, budget: requestBudget };
        if (run.mode === 'live') topicRegistry = await openRegistry();
      }
      const sink = new PostSink({ bus, producer, topic, store: store ?? new MemoryIngestStore(), metrics, logger, recorder, backoff });
      if (store !== null) stats.produced += await sink.recover();
      logger.info({ mode: run.mode, tags, topic, store: store?.kind ?? 'none' }, 'ingester started');
      const context: RunContext = { config, clock, logger, metrics, signal, backoff, sink, recorder, stats, ...(options.fetch ? { fetch: options.fetch } : {}) };
      loop = runnerFor(context, api).then(resolveDone, (error: unknown) => {
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
      await registryRedis?.quit().catch(() => registryRedis?.disconnect());
      registryRedis = null;
      resolveDone();
    },
  };
}
