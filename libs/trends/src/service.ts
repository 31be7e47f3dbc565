import { EventEmitter } from 'node:events';
import type { Bus, Consumer, PartitionPosition, Producer } from '@moodstream/bus';
import { errorMessage, MoodstreamError, systemClock, type Clock, type Logger, type PartHealth } from '@moodstream/core';
import { EMOTIONS, MAX_FUTURE_SKEW_MS, WINDOW_MS, type Alert, type ModelVersionChange, type ModelVersionsQuery, type Post, type ScoredPost, type WordShift, type WordShiftQuery } from '@moodstream/events';
import {
  ALL_TOPICS,
  type AlertsQuery,
  type ExamplePost,
  type ExamplePostsQuery,
  type ReplayRequest,
  type ReplayStatus,
  type SeriesQuery,
  type SeriesResponse,
  type SeriesUpdate,
  type TopicSummary,
} from './api-types';
import type { TrendsConfig } from './config';
import type { ConfusionMatrix } from './confusion';
import type { TopicAlertRule } from './detector';
import { liveRetention, TrendsEngine, type IngestResult } from './engine';
import { toSeriesPoint } from './estimate';
import { liveTopicsOf } from './plan';
import { AlertOwnership } from './alert-owner';
import { createMemoryModelVersionStore, type ModelVersionStore } from './model-version-store';
import { createModelVersionTracker } from './model-version-tracker';
import { PartitionWatermark } from './partition-watermark';
import { ReplayManager, type StartReplayOptions } from './replay';
import type { ReplayRegistry } from './replay-registry';
import type { ReplayRescorer } from './rescore-text';
import { LIVE_NAMESPACE, replayNamespace, type TrendsStore } from './store';
import { REBUILT_ENGINE_STATE } from './store-epoch';
import { WebhookNotifier } from './webhook';
import { queryWordShift } from './word-shift-query';
import { bucketCount, bucketStart, bucketStarts } from './windows';

export interface TrendsServiceOptions {
  bus: Bus;
  store: TrendsStore;
  logger: Logger;
  clock?: Clock;
  config: TrendsConfig;
  topics: TrendsTopics;
  groupId: string;
  confusion?: ConfusionMatrix | null;
  rescore?: (posts: Post[]) => Promise<ScoredPost[]>;
  /** Re-scoring with a chosen model version (the model registry's); takes the place of `rescore`. */
  rescorer?: ReplayRescorer;
  /** Replays of every instance sharing the store (default: memory, this process only); see replay-registry.ts. */
  replayRegistry?: ReplayRegistry;
  /** Observability hooks (the standalone aggregator wires them to Prometheus). */
  metrics?: TrendsMetricsHooks;
  /** Start with the live consumer (default true); the replay CLI runs replays only. */
  consume?: boolean;
  /**
   * Called once when the live consumer stops for good, so the host's crash policy takes over (`runtime.crash`).
   * Without it the crash is only logged and reported by `health()`: tests and benchmarks that watch it themselves.
   */
  onFatal?: (error: unknown) => void;
  /** Per-topic alert rules for live alerts (see alert-rules-store.ts); replays keep the global settings. */
  alertRules?: () => Promise<ReadonlyMap<string, TopicAlertRule>>;
  /** Where each topic's model versions are first seen (model-version-store.ts); default: memory. */
  modelVersions?: ModelVersionStore;
}

/** The bus topics the service reads and writes. */
export interface TrendsTopics {
  scored: string;
  alerts: string;
  posts: string;
  deadLetter?: string;
}

export interface TrendsMetricsHooks {
  onBatch?: (result: IngestResult, durationMs: number) => void;
  onAlert?: (alert: Alert) => void;
  onDeadLetter?: (reason: string) => void;
  onWebhook?: (outcome: 'delivered' | 'failed' | 'dropped') => void;
}

export interface TrendsEvents {
  series: [SeriesUpdate];
  alert: [Alert];
  replay: [ReplayStatus];
  topics: [TopicSummary[]];
  modelVersion: [ModelVersionChange];
}

/** A query the caller got wrong (400) or about something that does not exist (404). */
export class TrendsQueryError extends MoodstreamError {
  constructor(code: 'BAD_REQUEST' | 'NOT_FOUND', message: string) {
    super(code, message);
  }
}

/** Most points one series request may return (7 days of 1-minute buckets is 10 080). */
export const MAX_SERIES_POINTS = 20_000;
/** Topics summaries are pushed at most this often. */
const TOPICS_PUSH_MS = 5_000;

/** A service part (see ServicePart in libs/core): the host's runtime starts, watches and stops it. */
export interface TrendsService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Not ok once the live consumer crashed; the detail carries the watermark for `/healthz`. */
  health(): PartHealth;
  on<E extends keyof TrendsEvents>(event: E, listener: (...args: TrendsEvents[E]) => void): TrendsService;
  off<E extends keyof TrendsEvents>(event: E, listener: (...args: TrendsEvents[E]) => void): TrendsService;
  topics(): Promise<TopicSummary[]>;
  series(query: SeriesQuery): Promise<SeriesResponse>;
  alerts(query: AlertsQuery): Promise<Alert[]>;
  /** Null when the id is unknown. */
  acknowledgeAlert(id: string): Promise<Alert | null>;
  /**
   * After `npm run trends:rebuild` (the store epoch watch saw its new epoch): the alert owner takes over the alert
   * state the rebuild re-decided over the rebuilt history; others do nothing. True when this one took it over.
   */
  adoptRebuild(): Promise<boolean>;
  examplePosts(query: ExamplePostsQuery): Promise<ExamplePost[]>;
  /** Which terms moved an emotion's share in a bucket (docs/word-shift.md); NOT_FOUND while TRENDS_WORD_SHIFT=off. */
  wordShift(query: WordShiftQuery): Promise<WordShift>;
  /** When the model scoring a topic's live posts changed (model-version-tracker.ts). */
  modelVersions(query: ModelVersionsQuery): Promise<ModelVersionChange[]>;
  /** Replays are shared by the instances on one store: any of them reads and steers any replay (replay.ts). */
  startReplay(request: ReplayRequest, options?: StartReplayOptions): Promise<ReplayStatus>;
  pauseReplay(id: string): Promise<ReplayStatus | null>;
  resumeReplay(id: string): Promise<ReplayStatus | null>;
  stopReplay(id: string): Promise<ReplayStatus | null>;
  replayStatus(id: string): Promise<ReplayStatus | null>;
  listReplays(): Promise<ReplayStatus[]>;
  /** Resolves with the final status of a replay. */
  waitForReplay(id: string): Promise<ReplayStatus>;
  /** Feeds ScoredPosts straight in, bypassing the bus (embedded mode, tests). */
  ingest(posts: readonly ScoredPost[]): Promise<IngestResult>;
  /** Live watermark (event time), for health and metrics. */
  watermark(): number | null;
  consumerLag(): Promise<number>;
}

/**
 * Live trends: consumes ScoredPosts, aggregates them through the engine into the store, evaluates alerts
 * as windows close, publishes alerts (bus, webhook, listeners), runs replays and answers queries.
 */
export function createTrendsService(options: TrendsServiceOptions): TrendsService {
  const { bus, store, config, logger } = options;
  const clock = options.clock ?? systemClock;
  const confusion = options.confusion ?? null;
  const emitter = new EventEmitter();
  emitter.setMaxListeners(100);
  const emit = <E extends keyof TrendsEvents>(event: E, ...args: TrendsEvents[E]): void => {
    try {
      emitter.emit(event, ...args);
    } catch (error) {
      logger.warn({ err: error, event }, 'a trends listener threw');
    }
  };

  let producer: Producer | null = null;
  let consumer: Consumer | null = null;
  let idleTimer: ReturnType<Clock['setTimeout']> | null = null;
  let topicsTimer: ReturnType<Clock['setTimeout']> | null = null;
  let started = false;
  let crashed: string | null = null;
  const webhook =
    config.TRENDS_ALERT_WEBHOOK_URL === undefined
      ? null
      : new WebhookNotifier({
          url: config.TRENDS_ALERT_WEBHOOK_URL,
          retries: config.TRENDS_WEBHOOK_RETRIES,
          timeoutMs: config.TRENDS_WEBHOOK_TIMEOUT_MS,
          logger,
          clock,
          onResult: (outcome) => options.metrics?.onWebhook?.(outcome),
        });

  const publishLiveAlert = async (alert: Alert): Promise<void> => {
    options.metrics?.onAlert?.(alert);
    emit('alert', alert);
    webhook?.notify(alert);
    if (producer !== null) {
      try {
        await producer.send(options.topics.alerts, 'Alert', [{ key: `${alert.topic}:${alert.emotion}`, value: alert, timestamp: alert.firedAt }]);
      } catch (error) {
        // The alert is stored and pushed already; a bus hiccup must not redeliver (and re-aggregate) the batch.
        logger.error({ err: error, alert: alert.id }, 'could not publish alert to the bus');
      }
    }
  };

  const engine = new TrendsEngine({
    ns: LIVE_NAMESPACE,
    replayId: null,
    store,
    config,
    clock,
    logger,
    topicsOf: liveTopicsOf,
    retention: liveRetention(config),
    stateTtlMs: config.TRENDS_RETENTION_1D_MS,
    confusion,
    onSeries: (update) => emit('series', update),
    onAlert: publishLiveAlert,
    onNewTopic: () => scheduleTopicsPush(0),
    decidesAlerts: () => ownership.owner,
    ...(options.alertRules === undefined ? {} : { alertRules: options.alertRules }),
  });

  const replays = new ReplayManager({
    bus,
    store,
    config,
    clock,
    logger,
    topics: { scored: options.topics.scored, posts: options.topics.posts },
    confusion,
    ...(options.rescore === undefined ? {} : { rescore: options.rescore }),
    ...(options.rescorer === undefined ? {} : { rescorer: options.rescorer }),
    ...(options.replayRegistry === undefined ? {} : { registry: options.replayRegistry }),
    livePairs: () => engine.watchedPairs(),
    onSeries: (update) => emit('series', update),
    onAlert: (alert) => emit('alert', alert),
    onStatus: (status) => emit('replay', status),
  });

  const versions = createModelVersionTracker(options.modelVersions ?? createMemoryModelVersionStore(), { logger, onChange: (change) => emit('modelVersion', change) });
  const partitionWatermark = new PartitionWatermark(config.TRENDS_IDLE_PARTITION_TIMEOUT_MS);
  const ownership = new AlertOwnership(store, LIVE_NAMESPACE, options.topics.scored);
  let lastIngestAt = -Infinity;

  const ingest = async (posts: readonly ScoredPost[], watermark?: number): Promise<IngestResult> => {
    const began = performance.now();
    lastIngestAt = clock.now();
    const result = await engine.ingest(posts, watermark);
    await versions.observe(posts);
    options.metrics?.onBatch?.(result, performance.now() - began);
    if (result.late > 0) logger.debug({ late: result.late }, 'dropped events later than the allowed lateness');
    return result;
  };

  /**
   * The watermark the consumer's partitions allow (see PartitionWatermark); -Infinity keeps it where it is.
   * The batch in the handler counts as delivered.
   */
  const liveWatermark = async (): Promise<{ watermark: number; own: PartitionPosition[] }> => {
    if (consumer === null) return { watermark: Number.NEGATIVE_INFINITY, own: [] };
    let own: PartitionPosition[] = [];
    try {
      own = await consumer.positions();
      // Scale-out (alert-owner.ts): the holder of partition 0 decides alerts over every partition of the group.
      if (ownership.update(own)) {
        logger.info('this aggregator now decides alerts (it holds partition 0); detector state reloaded');
        await engine.load();
      }
      const counts = ownership.owner ? await consumer.partitionCounts?.() : undefined;
      const partitions = counts?.find((c) => c.topic === options.topics.scored)?.partitions;
      const positions = partitions === undefined ? own : await ownership.groupPositions(own, partitions);
      const reachable = partitionWatermark.candidate(positions, clock.now());
      return { watermark: reachable === null || reachable <= (engine.watermark ?? -Infinity) ? Number.NEGATIVE_INFINITY : reachable, own };
    } catch (error) {
      // No partition can be seen caught up meanwhile: quiet time in an outage must not count as idleness.
      partitionWatermark.unreachable();
      logger.warn({ err: error }, 'could not read the partition positions; the watermark waits for the next batch');
      return { watermark: Number.NEGATIVE_INFINITY, own };
    }
  };

  const topicSummaries = async (ns: string, now: number): Promise<TopicSummary[]> => {
    const topics = await store.topics(ns);
    const hours = bucketStarts(now - WINDOW_MS['1d'], now, '1h');
    const refs = topics.flatMap(({ topic }) => hours.map((start) => ({ topic, size: '1h' as const, start })));
    const stats = await store.readBuckets(ns, refs);
    const summaries = topics.map(({ topic, lastSeen }, t) => {
      let count = 0;
      for (let h = 0; h < hours.length; h++) count += stats[t * hours.length + h]?.count ?? 0;
      return { topic, count, lastSeen };
    });
    // "all" first, then busiest topics.
    return summaries.sort((a, b) => (a.topic === ALL_TOPICS ? -1 : b.topic === ALL_TOPICS ? 1 : b.count - a.count || (a.topic < b.topic ? -1 : 1)));
  };

  function scheduleTopicsPush(delay: number): void {
    if (topicsTimer !== null || !started) return;
    topicsTimer = clock.setTimeout(() => {
      topicsTimer = null;
      topicSummaries(LIVE_NAMESPACE, clock.now()).then(
        (list) => emit('topics', list),
        (error: unknown) => logger.warn({ err: error }, 'could not compute topic summaries'),
      );
    }, delay);
  }

  /**
   * Moves the watermark by the clock, evaluating the alert windows it passes, once no events have arrived for the
   * idle lag (never while a backlog is being consumed: that would drop it as late), and pushes topic counts now and then.
   */
  const tick = (): void => {
    idleTimer = clock.setTimeout(() => {
      const lag = config.TRENDS_IDLE_WATERMARK_LAG_MS;
      const quiet = clock.now() - lastIngestAt >= lag;
      // A stalled consumer with a backlog is not idle: moving the watermark would drop the backlog as late.
      const caughtUp = async (): Promise<boolean> => consumer === null || (await consumer.lag()) === 0;
      // Between batches too, a partition turning idle may let the others' event time close windows.
      const partitions = async (): Promise<void> => {
        const { watermark: reachable, own } = await liveWatermark();
        if (reachable > Number.NEGATIVE_INFINITY) await engine.advanceWatermark(reachable);
        // A member whose partitions are quiet still tells the alert owner where they stand.
        await ownership.publish(own);
      };
      (quiet ? caughtUp().then((idle) => (idle ? engine.advanceWatermark(clock.now() - lag) : partitions())) : partitions())
        .catch((error: unknown) => logger.warn({ err: error }, 'idle watermark advance failed'))
        .finally(() => {
          if (started) tick();
        });
      scheduleTopicsPush(0);
    }, TOPICS_PUSH_MS);
  };

  const namespaceOf = (replay: string | undefined): string => (replay === undefined ? LIVE_NAMESPACE : replayNamespace(replay));

  const service: TrendsService = {
    async start() {
      if (started) return;
      await engine.load();
      started = true;
      if (options.consume !== false) {
        producer = await bus.producer();
        await bus.ensureTopics([{ name: options.topics.scored }, { name: options.topics.alerts }, ...(options.topics.deadLetter ? [{ name: options.topics.deadLetter }] : [])]);
        consumer = bus.consumer({
          groupId: options.groupId,
          topics: [options.topics.scored],
          eventType: 'ScoredPost',
          deadLetterTopic: options.topics.deadLetter ?? `${options.topics.scored}.dead-letter`,
          fromBeginning: true,
          maxBatchSize: config.TRENDS_BATCH_SIZE,
          fetchMaxBytesPerPartition: config.TRENDS_FETCH_MAX_BYTES,
          // A write costs per call and per (topic, minute) group, and the partitions of one fetch cover the same
          // minutes: one write for the whole fetch sends each group once instead of once per partition.
          mergePartitions: true,
          // Event time drives the watermark: a post dated far ahead (produced past the ingester, which refuses those)
          // would move it there and every real post after it would be dropped as late.
          refuse: (post) =>
            post.timestamp > clock.now() + MAX_FUTURE_SKEW_MS
              ? `ScoredPost dated in the future: timestamp ${post.timestamp} is more than ${MAX_FUTURE_SKEW_MS / 60_000} min ahead of the aggregator's clock`
              : null,
          handler: async (records) => {
            const { watermark, own } = await liveWatermark();
            await ingest(
              records.map((r) => r.value),
              watermark,
            );
            // After the writes: the owner may close windows up to these positions.
            await ownership.publish(own);
          },
          onCrash: (error) => {
            crashed = errorMessage(error);
            logger.error({ err: error }, 'trends consumer crashed');
            options.onFatal?.(error);
          },
          onDeadLetter: (reason) => options.metrics?.onDeadLetter?.(reason),
        });
        await consumer.start();
        tick();
      }
      logger.info({ groupId: options.groupId, topic: options.topics.scored, consuming: options.consume !== false }, 'trends service started');
    },

    async stop() {
      if (!started) return;
      started = false;
      if (idleTimer !== null) clock.clearTimeout(idleTimer);
      if (topicsTimer !== null) clock.clearTimeout(topicsTimer);
      idleTimer = null;
      topicsTimer = null;
      await replays.stopAll();
      await consumer?.stop();
      consumer = null;
      await engine.flushSeries().catch((error: unknown) => logger.warn({ err: error }, 'final series push failed'));
      engine.dispose();
      await webhook?.close();
      await producer?.close();
      producer = null;
      logger.info('trends service stopped');
    },

    on(event, listener) {
      emitter.on(event, listener as (...args: unknown[]) => void);
      return service;
    },
    off(event, listener) {
      emitter.off(event, listener as (...args: unknown[]) => void);
      return service;
    },

    topics: () => topicSummaries(LIVE_NAMESPACE, clock.now()),

    async series(query) {
      const to = query.to ?? clock.now();
      const from = query.from ?? to - 3_600_000;
      if (to <= from) throw new TrendsQueryError('BAD_REQUEST', '`to` must be after `from`');
      const points = bucketCount(from, to, query.window);
      if (points > MAX_SERIES_POINTS) {
        throw new TrendsQueryError('BAD_REQUEST', `range holds ${points} ${query.window} buckets; at most ${MAX_SERIES_POINTS} — use a larger window`);
      }
      const ns = namespaceOf(query.replay);
      const topic = await replayTopic(query.replay, query.topic);
      // A replay in progress shows only the buckets its replayed clock has passed.
      const playing = query.replay === undefined ? null : await replays.status(query.replay);
      const visibleTo = playing !== null && (playing.state === 'running' || playing.state === 'paused') ? Math.min(to, playing.cursor) : to;
      const starts = bucketStarts(from, visibleTo, query.window).filter((start) => visibleTo === to || start + WINDOW_MS[query.window] <= visibleTo);
      const stats = await store.readBuckets(ns, starts.map((start) => ({ topic, size: query.window, start })));
      return {
        topic: query.topic,
        window: query.window,
        from,
        to,
        replay: query.replay ?? null,
        points: starts.flatMap((start, i) => {
          const bucket = stats[i];
          return bucket === null || bucket === undefined ? [] : [toSeriesPoint(start, bucket, confusion)];
        }),
      };
    },

    alerts: (query) => store.listAlerts(namespaceOf(query.replay), { ...(query.topic === undefined ? {} : { topic: query.topic }), limit: query.limit }),

    acknowledgeAlert: (id) => store.acknowledgeAlert(id),

    async adoptRebuild() {
      if (!ownership.owner) return false;
      const adopted = await engine.adoptSaved(REBUILT_ENGINE_STATE);
      logger.info({ adopted, watermark: engine.watermark }, adopted ? 'took over the alert state the rebuild re-decided' : 'the rebuild left no alert state to take over');
      return adopted;
    },

    async examplePosts(query) {
      const emotion = query.emotion === undefined ? null : EMOTIONS.indexOf(query.emotion);
      const topic = await replayTopic(query.replay, query.topic);
      return store.examples(namespaceOf(query.replay), { topic, size: query.window, start: bucketStart(query.start, query.window) }, emotion, query.limit);
    },

    wordShift: async (query) => queryWordShift(store, config, namespaceOf(query.replay), { ...query, topic: await replayTopic(query.replay, query.topic) }),

    startReplay: (request, startOptions) => replays.start(request, startOptions),
    pauseReplay: (id) => replays.pause(id),
    resumeReplay: (id) => replays.resume(id),
    stopReplay: (id) => replays.stop(id),
    replayStatus: (id) => replays.status(id),
    listReplays: () => replays.list(),
    waitForReplay: (id) => replays.wait(id),

    ingest: (posts) => ingest(posts),
    modelVersions: (query) => versions.list(query, clock.now()),
    watermark: () => engine.watermark,
    consumerLag: async () => (consumer === null ? 0 : consumer.lag()),
    health: () => ({
      ok: crashed === null,
      detail: { watermark: engine.watermark, consuming: consumer !== null, ...(crashed === null ? {} : { crashed }) },
    }),
  };

  /** A single-topic replay aggregates under its own topic only; "all" in its namespace means that topic. */
  async function replayTopic(replay: string | undefined, topic: string): Promise<string> {
    if (replay === undefined || topic !== ALL_TOPICS) return topic;
    const status = await replays.status(replay);
    return status === null ? topic : status.topic;
  }

  return service;
}
