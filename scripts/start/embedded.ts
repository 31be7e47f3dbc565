import { createMemoryBus, type Bus } from '@moodstream/bus';
import { createServiceRuntime, parseConfig, sleep, type Logger, type ServiceRuntime } from '@moodstream/core';
import { topicNames } from '@moodstream/events';
import { createDashboardApp, parseDashboardConfig } from '@moodstream/dashboard';
import { createIngesterApp, IngesterConfigSchema } from '@moodstream/ingester';
import { createScorerApp, ScorerConfigSchema, type ScorerApp } from '@moodstream/scorer';
import { dirname, join } from 'node:path';
import {
  alertRuleDefaults,
  alertRulesReader,
  createLocalLiveEventStores,
  createMemoryTrendsStore,
  createTrendsHost,
  processLocalSeenTtlMs,
  protectedHistoryMs,
  reportedHistoryBudget,
  type MemoryTrendsStore,
  trendsConfigSchema,
} from '@moodstream/trends';
import type { StartConfig } from './config';
import { startDemoImages, type DemoImages } from './demo-images';
import type { ArchiveRun } from './demo-ingest';
import { demoOperatorAccess } from './operator-token';
import type { plantedShiftWindow } from './demo-plan';
import { startDemoRun } from './demo-run';
import type { Progress } from './progress';

/**
 * The one-process stack behind `npm start`: in-memory bus and trends store, the scorer, the trends
 * aggregator, the dashboard, and the ingester (demo archive replay, or live Tumblr with a key).
 * Each app is built by its own factory, exactly as its standalone main builds it, only on the
 * in-memory bus, and every part runs in the process's one runtime (name `moodstream`): one crash
 * policy, one ordered close, one registry, whose /healthz and /metrics the dashboard serves on its port.
 * Also what the end-to-end browser test runs.
 */
export interface EmbeddedStackOptions {
  config: StartConfig;
  progress: Progress;
  logger: Logger;
  /** Called once with the exit code after the crash policy (or a signal, with `runtime.installSignals()`) closed everything; default process.exit. */
  exit?: (code: number) => void;
  demoImagesDir?: string | undefined;
  /** Where each app reads its own settings; default process.env. */
  env?: Record<string, string | undefined>;
}

export interface EmbeddedStack {
  /** The process's one runtime (`moodstream`): its parts, health, registry and crash policy. */
  readonly runtime: ServiceRuntime;
  readonly url: string;
  readonly port: number;
  readonly bus: Bus;
  /** The in-memory trends store (its footprint tells where the process's memory goes). */
  readonly store: MemoryTrendsStore;
  readonly topics: ReturnType<typeof topicNames>;
  /** Null when polling live Tumblr. */
  readonly demo: { posts: number; shift: ReturnType<typeof plantedShiftWindow>; historyDone: Promise<void> } | null;
  /** Resolves once every post produced so far has been scored (the start-up backlog is worked off). */
  caughtUp(timeoutMs: number): Promise<void>;
  /** The runtime's graceful close: the ingester first, then the scorer, the aggregator, the dashboard, the bus. */
  close(): Promise<void>;
}

/**
 * Where the embedded mode's trends defaults differ from a deployment's: everything lives in this process's memory, so
 * 1-minute buckets (and their word-shift tables and example posts, the bulk of the store) are kept 24 hours — the
 * dashboard's longest 1-minute view, its 24h range — not the Redis store's 2 days. Set TRENDS_RETENTION_1M_MS to
 * keep more; docs/reliability.md gives the memory per minute of history.
 */
const EMBEDDED_TRENDS_DEFAULTS = { TRENDS_RETENTION_1M_MS: String(24 * 60 * 60_000) };

/** Settings each app would get from its own environment; the embedded mode overrides only what must differ. */
function appEnv(env: Record<string, string | undefined>, overrides: Record<string, string>): Record<string, string | undefined> {
  return { ...env, ...overrides };
}

/** Waits until the scorer's consumer has nothing left to read and nothing in flight; polls while `runtime` runs. */
async function scorerCaughtUp(runtime: ServiceRuntime, scorer: ScorerApp, timeoutMs: number): Promise<void> {
  const deadline = runtime.clock.now() + timeoutMs;
  for (;;) {
    const stats = scorer.stats();
    // Asks the bus for records not yet consumed by the scorer's group (null while unknown).
    const lag = (await scorer.consumerLag()) ?? Infinity;
    if (lag === 0 && stats.waiting === 0 && stats.batchesInFlight === 0 && stats.received === stats.scored) return;
    const waiting = `lag ${lag}, received ${stats.received}, scored ${stats.scored}, ${stats.postsPerSecond.toFixed(0)} posts/s`;
    if (runtime.clock.now() > deadline) throw new Error(`the scorer has not caught up after ${timeoutMs} ms (${waiting})`);
    if (!(await sleep(200, { clock: runtime.clock, signal: runtime.signal }))) throw new Error(`stopped before the scorer caught up (${waiting})`);
  }
}

export async function startEmbeddedStack(options: EmbeddedStackOptions): Promise<EmbeddedStack> {
  const { config, progress, logger } = options;
  const runtime = createServiceRuntime({
    name: 'moodstream',
    logger,
    deadlineMs: config.SHUTDOWN_DEADLINE_MS,
    ...(options.exit === undefined ? {} : { exit: options.exit }),
  });
  const env = options.env ?? process.env;
  try {
    const bus = createMemoryBus({ logger, retentionBytes: config.MEMORY_BUS_RETENTION_MB * 1024 * 1024 });
    runtime.onClose('bus', () => bus.close());
    const topics = topicNames();
    await bus.ensureTopics(Object.values(topics).map((name) => ({ name })));

    let images: DemoImages | null = null;
    if (options.demoImagesDir !== undefined) {
      const served = await startDemoImages({ dir: options.demoImagesDir, share: config.DEMO_IMAGE_SHARE });
      runtime.onClose('demo-images', () => served.close());
      images = served;
      progress.step(`serving ${images.imageCount} demo images from ${options.demoImagesDir} at ${images.baseUrl}`);
    }

    // Watched topics added on the dashboard (kept in a file beside the ingester's state), moments and alert rules.
    const ingesterConfig = parseConfig(IngesterConfigSchema, env, 'ingester');
    const trendsSettings = parseConfig(trendsConfigSchema, { ...EMBEDDED_TRENDS_DEFAULTS, ...env }, 'trends');
    const liveEvent = {
      stores: createLocalLiveEventStores({ registryFile: join(dirname(ingesterConfig.INGEST_STATE_FILE), 'watched-topics.json') }),
      alertDefaults: alertRuleDefaults(trendsSettings),
    };
    let store: MemoryTrendsStore | null = null;
    const history = reportedHistoryBudget({
      budgetBytes: config.MEMORY_TRENDS_HISTORY_MB * 1024 * 1024,
      keepMs: protectedHistoryMs(trendsSettings),
      registry: runtime.registry,
      logger,
      historyBytes: () => store?.footprint().historyBytes ?? null,
      setting: 'MEMORY_TRENDS_HISTORY_MB',
    });
    store = createMemoryTrendsStore({ maxSeenTtlMs: processLocalSeenTtlMs(trendsSettings), history });
    const trends = await createTrendsHost({
      bus,
      store,
      config: trendsSettings,
      alertRules: alertRulesReader(liveEvent.stores.rules),
      logger,
      registry: runtime.registry,
      topics,
      onFatal: runtime.crash('trends'),
    });

    progress.step('loading the emotion model (models/default)…');
    const scorer = createScorerApp({
      // The scorer's own defaults (inference on worker threads, off the main thread that serves the dashboard).
      config: parseConfig(
        ScorerConfigSchema,
        images === null ? env : appEnv(env, { SCORER_IMAGE_ALLOWLIST: ['127.0.0.1', env['SCORER_IMAGE_ALLOWLIST'] ?? ''].filter(Boolean).join(',') }),
        'scorer',
      ),
      bus,
      logger,
      registry: runtime.registry,
      onFatal: runtime.crash('scorer'),
    });
    const access = demoOperatorAccess(config.HOST, env);
    progress.step(access.line);
    const dashboard = createDashboardApp({
      config: parseDashboardConfig(appEnv(env, { PORT: String(config.PORT), HOST: config.HOST, ...access.env })),
      logger,
      trends,
      ops: runtime,
      onProgress: (line) => progress.step(line),
      liveEvent,
    });
    // Started side by side (the model load and a possible `next build` are the slow steps), registered in this order so
    // the runtime closes them in reverse: the scorer finishes and commits its batch, the aggregator takes it in, then
    // the dashboard goes. If one fails, the others still finish starting before the runtime closes them, so nothing
    // (a build child process, a worker thread) is left behind.
    const started = await Promise.allSettled([
      runtime.start('dashboard', dashboard),
      runtime.start('trends', trends),
      runtime.start('scorer', scorer).then(() => {
        const engine = scorer.stats().engine;
        progress.step(`emotion model ready${engine === null ? '' : ` (${engine.modelVersion}, ${engine.backend})`}`);
      }),
    ]);
    const failure = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    const address = dashboard.address();
    if (address === null) throw new Error('the dashboard started without an address');
    const caughtUp = (timeoutMs: number): Promise<void> => scorerCaughtUp(runtime, scorer, timeoutMs);
    const close = async (): Promise<void> => {
      await runtime.close('stack closed');
    };
    const stack = { runtime, ...address, bus, store, topics, caughtUp, close };

    // Live mode keeps its cursors and request budget in the ingester's default store (a local file), so a
    // restart neither re-reads nor skips; archive runs need no store.
    if (config.TUMBLR_API_KEY !== undefined) {
      const ingester = createIngesterApp({
        config: { ...ingesterConfig, TUMBLR_API_KEY: config.TUMBLR_API_KEY },
        bus,
        logger,
        run: { mode: 'live', tags: [] },
        topicRegistry: liveEvent.stores.topics,
        registry: runtime.registry,
        onFatal: runtime.crash('ingester'),
      });
      await runtime.start('ingester', ingester);
      progress.step(`polling live Tumblr for ${ingester.tags.join(', ')}`);
      return { ...stack, demo: null };
    }

    // One finite archive run per demo lap, each with a registry of its own (a lap's counts are not the process's).
    const runArchive = async (file: string, speed: number): Promise<ArchiveRun> => {
      const ingester = createIngesterApp({ config: ingesterConfig, bus, logger, run: { mode: 'archive', file, speed } });
      await ingester.start();
      return { done: ingester.done, stop: () => ingester.stop() };
    };
    const demo = await startDemoRun({ config, images, runArchive });
    runtime.onClose('demo', () => demo.stop());
    demo.failed.catch(runtime.crash('demo'));
    return { ...stack, demo: { posts: demo.posts, shift: demo.shift, historyDone: demo.historyDone } };
  } catch (error) {
    await runtime.close('start failed');
    throw error;
  }
}
