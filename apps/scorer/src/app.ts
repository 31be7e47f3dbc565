import { errorMessage, sleep, systemClock, type Clock, type Logger, type PartHealth, type Registry } from '@moodstream/core';
import type { BatchContext, Bus, BusRecord, Consumer, EventInput, OutgoingMessage, Producer } from '@moodstream/bus';
import { topicNames, type Post } from '@moodstream/events';
import { preprocessImage, setDecodeThreads } from '@moodstream/model';
import { BatchScorer, type QueuedPost } from './batch-scorer';
import { CoalescingSender } from './coalescing-sender';
import type { ScorerConfig } from './config';
import { FeatureCache, type FeatureCacheStats } from './feature-cache';
import { SafeImageFetcher, type ImageFetcherDeps } from './fetch/safe-image-fetcher';
import type { EngineInfo, InferenceEngine } from './inference/inference-engine';
import { InProcessEngine } from './inference/in-process-engine';
import type { LoadedModels } from './inference/run-inference';
import { WorkerPoolEngine } from './inference/worker-pool-engine';
import { MicroBatcher } from './micro-batcher';
import { followModelRegistry, pinnedToOneModel } from './model-swap';
import { RateMeter } from './rate-meter';
import { createScorerMetrics } from './scorer-metrics';

export interface ScorerAppOptions {
  config: ScorerConfig;
  bus: Bus;
  logger: Logger;
  /** The process's one registry (the runtime's): the scorer's `moodstream_scorer_*` series go there. */
  registry: Registry;
  /**
   * Called once if the scorer stops working (its consumer crashed: a batch failed for good, an inference thread
   * died). Pass the runtime's `crash('scorer')`: it closes the rest of the process gracefully and exits 1.
   */
  onFatal: (error: unknown) => void;
  clock?: Clock;
  /** Models already loaded on this thread (embedded mode shares them); otherwise loaded per config. */
  model?: LoadedModels;
  /** An inference engine to use instead of loading one (tests); the scorer closes it when it stops. */
  engine?: InferenceEngine;
  /** Name resolution for image hosts (tests); the system resolver otherwise. */
  resolveImageHost?: ImageFetcherDeps['resolve'];
}

export interface ScorerStats {
  healthy: boolean;
  received: number;
  scored: number;
  batches: number;
  imageErrors: number;
  deadLetters: number;
  postsPerSecond: number;
  waiting: number;
  batchesInFlight: number;
  cache: FeatureCacheStats;
  engine: EngineInfo | null;
}

/** A part of a service runtime (`runtime.start('scorer', app)`). */
export interface ScorerApp {
  /** Loads the model, joins the consumer group and starts scoring. */
  start(): Promise<void>;
  /** Stops fetching posts, scores and commits what is in flight, then releases everything. */
  stop(): Promise<void>;
  /** Healthy while running with a live consumer; the stats ride along for /healthz. */
  health(): PartHealth;
  stats(): ScorerStats;
  /** Posts not yet consumed by the scorer's group (the `moodstream_scorer_consumer_lag` gauge); null while unknown. */
  consumerLag(): Promise<number | null>;
  /** Live tfjs tensors per inference thread. */
  tensorCounts(): Promise<number[]>;
}

/**
 * Most ScoredPosts in one coalesced produce request. A ScoredPost's text is capped at 2,000 characters (≤ ~8 KB), so
 * 128 stay under Kafka's default 1 MB record-batch limit even when every one lands on the same partition.
 */
const PRODUCE_MAX_MESSAGES = 128;

/** How often a handler waiting for its batches tells the group it is alive (well inside the session timeout). */
const HEARTBEAT_MS = 3_000;

/** Builds the scorer. Does no I/O until start(). */
export function createScorerApp(options: ScorerAppOptions): ScorerApp {
  const { config, bus, logger, registry } = options;
  const clock = options.clock ?? systemClock;
  // The bus applies MOODSTREAM_TOPIC_PREFIX itself (to topics and group ids alike).
  const topics = topicNames();
  const cache = new FeatureCache(config.SCORER_CACHE_ENTRIES);
  const rate = new RateMeter(clock);
  const fetcher = new SafeImageFetcher(
    {
      timeoutMs: config.SCORER_IMAGE_TIMEOUT_MS,
      maxBytes: config.SCORER_IMAGE_MAX_BYTES,
      maxRedirects: config.SCORER_IMAGE_MAX_REDIRECTS,
      allowlist: config.SCORER_IMAGE_ALLOWLIST,
    },
    options.resolveImageHost ? { resolve: options.resolveImageHost } : {},
  );
  const counts = { received: 0, scored: 0, batches: 0, imageErrors: 0, deadLetters: 0 };
  let engine: InferenceEngine | null = null;
  let producer: Producer | null = null;
  let consumer: Consumer | null = null;
  let batcher: MicroBatcher<QueuedPost> | null = null;
  let crashed: unknown = null;
  let state: 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' = 'idle';
  let lastCacheStats = cache.stats();
  const consumerLag = async (): Promise<number | null> => {
    if (consumer === null) return null;
    try {
      return await consumer.lag();
    } catch (error) {
      logger.debug({ err: errorMessage(error) }, 'consumer lag unavailable');
      return null;
    }
  };
  const metrics = createScorerMetrics(registry, {
    postsPerSecond: () => rate.perSecond(),
    cache: () => cache.stats(),
    consumerLag,
    tensors: async () => (engine === null ? null : (await engine.tensorCounts()).reduce((a, b) => a + b, 0)),
  });

  const countCacheLookups = (): void => {
    const now = cache.stats();
    metrics.cacheLookups.inc({ result: 'url' }, now.urlHits - lastCacheStats.urlHits);
    metrics.cacheLookups.inc({ result: 'hash' }, now.hashHits - lastCacheStats.hashHits);
    metrics.cacheLookups.inc({ result: 'miss' }, now.misses - lastCacheStats.misses);
    lastCacheStats = now;
  };

  const processBatch = async (scorer: BatchScorer, batch: QueuedPost[], out: CoalescingSender<OutgoingMessage<EventInput<'ScoredPost'>>>): Promise<void> => {
    const result = await scorer.score(batch);
    const produceStart = performance.now();
    await out.send(result.scored.map((scored) => ({ key: scored.postId, value: scored, timestamp: scored.timestamp })));
    const produceSeconds = (performance.now() - produceStart) / 1000;
    counts.batches++;
    counts.scored += batch.length;
    counts.imageErrors += result.imageErrors.length;
    rate.mark(batch.length);
    metrics.batchSize.observe(batch.length);
    const { timings } = result;
    metrics.stageSeconds.observe({ stage: 'fetch' }, timings.fetchMs / 1000);
    metrics.stageSeconds.observe({ stage: 'decode' }, timings.decodeMs / 1000);
    metrics.stageSeconds.observe({ stage: 'backbone' }, timings.backboneMs / 1000);
    metrics.stageSeconds.observe({ stage: 'model' }, timings.modelMs / 1000);
    metrics.stageSeconds.observe({ stage: 'produce' }, produceSeconds);
    for (const scored of result.scored) {
      metrics.postsScored.inc({ modality: scored.modality });
      metrics.stageSeconds.observe({ stage: 'queue' }, (scored.latencies.queueMs ?? 0) / 1000);
      metrics.stageSeconds.observe({ stage: 'total' }, (scored.latencies.totalMs ?? 0) / 1000);
    }
    for (const code of result.imageErrors) metrics.imageErrors.inc({ code });
    metrics.imagesEmbedded.inc(result.embeddedImages);
    countCacheLookups();
  };

  // A version promoted in the model registry (hot swap): loaded the way the scorer's own model was, from its folder.
  const loadEngineFrom = (modelDir: string): Promise<InferenceEngine> => {
    const backbone = {
      runtime: config.SCORER_BACKBONE_RUNTIME,
      networkRuntime: config.SCORER_NETWORK_RUNTIME,
      onnxThreads: config.SCORER_ONNX_THREADS,
      onnxProviders: config.SCORER_ONNX_PROVIDERS,
      onnxFile: config.SCORER_BACKBONE_FILE,
    };
    if (config.SCORER_WORKERS === 0 || options.model !== undefined) return InProcessEngine.load(modelDir, backbone);
    return WorkerPoolEngine.start({ workers: config.SCORER_WORKERS, modelDir, backbone });
  };

  const loadEngine = async (): Promise<InferenceEngine> => {
    if (options.engine !== undefined) return options.engine;
    if (options.model !== undefined) return new InProcessEngine(options.model, false);
    return loadEngineFrom(config.SCORER_MODEL_DIR);
  };

  const releaseAll = async (): Promise<void> => {
    await producer?.close().catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'closing the producer failed'));
    await engine?.close();
    fetcher.close();
  };

  const stats = (): ScorerStats => ({
    healthy: state === 'running' && crashed === null,
    ...counts,
    postsPerSecond: rate.perSecond(),
    waiting: batcher?.waiting ?? 0,
    batchesInFlight: batcher?.batchesInFlight ?? 0,
    cache: cache.stats(),
    engine: engine?.info ?? null,
  });

  return {
    async start() {
      if (state !== 'idle') throw new Error(`scorer cannot start from state ${state}`);
      state = 'starting';
      try {
        setDecodeThreads(config.SCORER_DECODE_THREADS);
        engine = await followModelRegistry(await loadEngine(), { registryDir: config.SCORER_MODEL_REGISTRY, pollMs: config.SCORER_MODEL_POLL_MS, load: loadEngineFrom, logger, clock });
        const info = engine.info;
        metrics.backend.set({ backend: info.backend, model_version: info.modelVersion, backbone: info.backboneId, workers: String(info.workers) }, 1);
        // One line says what runs each part and why, including why not ONNX Runtime when it fell back to tfjs.
        const parts = [
          info.backboneRuntime ? `image backbone on ${info.backboneRuntime.detail} (${info.backboneRuntime.reason})` : null,
          info.networkRuntime ? `fused network on ${info.networkRuntime.detail} (${info.networkRuntime.reason})` : null,
        ].filter((part) => part !== null);
        logger.info({ ...info }, ['scorer model loaded', ...parts].join('; '));
        await bus.ensureTopics([{ name: topics.posts }, { name: topics.scored }, { name: topics.deadLetter }]);
        producer = await bus.producer();
        const scorer = new BatchScorer({
          engine,
          fetchImage: (url) => fetcher.fetch(url),
          decodeImage: (bytes, inputSize) => preprocessImage(bytes, inputSize, { limitInputPixels: config.SCORER_IMAGE_MAX_PIXELS }),
          cache,
          clock,
          imageConcurrency: config.SCORER_IMAGE_CONCURRENCY,
        });
        const out = producer;
        // Batches finished while a produce request is in flight go out together in the next one (group commit).
        const sender = new CoalescingSender<OutgoingMessage<EventInput<'ScoredPost'>>>({
          sendAll: (messages) => out.send(topics.scored, 'ScoredPost', messages),
          maxMessages: Math.max(config.SCORER_BATCH_SIZE, PRODUCE_MAX_MESSAGES),
        });
        const microBatcher = new MicroBatcher<QueuedPost>({
          maxSize: config.SCORER_BATCH_SIZE,
          maxAgeMs: config.SCORER_BATCH_MAX_AGE_MS,
          maxInFlight: config.SCORER_MAX_IN_FLIGHT_BATCHES,
          clock,
          // Each batch is scored whole by the model version current when it starts (hot swap: model-swap.ts).
          process: (batch) => pinnedToOneModel(engine, () => processBatch(scorer, batch, sender)),
        });
        batcher = microBatcher;
        consumer = bus.consumer({
          groupId: config.SCORER_GROUP_ID,
          topics: [topics.posts],
          eventType: 'Post',
          deadLetterTopic: topics.deadLetter,
          fromBeginning: config.SCORER_FROM_BEGINNING,
          sessionTimeoutMs: config.SCORER_SESSION_TIMEOUT_MS,
          // Enough records per call to keep every in-flight micro-batch full.
          maxBatchSize: config.SCORER_BATCH_SIZE * config.SCORER_MAX_IN_FLIGHT_BATCHES * 2,
          handler: async (records: BusRecord<Post>[], context) => {
            counts.received += records.length;
            const receivedAt = clock.now();
            // The bus commits these offsets when this resolves: only once their ScoredPosts are acknowledged.
            // It also hands over no more records until then, so when the stream is saturated (a full batch
            // came at once) the remainder has no one to wait for.
            const done = microBatcher.add(
              records.map((record) => ({ record, receivedAt })),
              { flushTail: records.length >= config.SCORER_BATCH_SIZE },
            );
            await heartbeatUntil(done, context, clock);
          },
          onDeadLetter: (reason, where) => {
            counts.deadLetters++;
            metrics.deadLetters.inc();
            logger.warn({ reason, ...where }, 'malformed post sent to the dead-letter topic');
          },
          // A failed batch is not retried here (the bus already retried it if it could be): the scorer is done for.
          onCrash: (error) => {
            crashed = error;
            options.onFatal(error);
          },
        });
        await consumer.start();
        state = 'running';
        logger.info({ topic: topics.posts, group: config.SCORER_GROUP_ID, batchSize: config.SCORER_BATCH_SIZE, maxAgeMs: config.SCORER_BATCH_MAX_AGE_MS }, 'scorer consuming');
      } catch (error) {
        state = 'stopped';
        await releaseAll();
        throw error;
      }
    },

    async stop() {
      if (state === 'idle' || state === 'stopped' || state === 'stopping') {
        state = 'stopped';
        return;
      }
      state = 'stopping';
      // Nothing new is worth waiting for: send what is buffered now so the commit is not held up by the age limit.
      batcher?.flushEagerly();
      try {
        await consumer?.stop();
        await batcher?.whenIdle();
      } finally {
        await releaseAll();
        state = 'stopped';
        logger.info({ ...counts }, 'scorer stopped');
      }
    },

    health() {
      const now = stats();
      return { ok: now.healthy, detail: now };
    },

    stats,
    consumerLag,

    tensorCounts: () => engine?.tensorCounts() ?? Promise.resolve([]),
  };
}

/** Waits for `done` while telling the group every HEARTBEAT_MS (on the app's clock) that this member is alive. */
async function heartbeatUntil(done: Promise<void>, context: BatchContext, clock: Clock): Promise<void> {
  const settled = new AbortController();
  void (async () => {
    while (await sleep(HEARTBEAT_MS, { clock, signal: settled.signal })) await context.heartbeat().catch(() => undefined);
  })();
  try {
    await done;
  } finally {
    settled.abort();
  }
}
