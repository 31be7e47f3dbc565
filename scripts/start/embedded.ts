import { createMemoryBus, type Bus } from '@moodstream/bus';
import { errorMessage, parseConfig, sleep, type Logger } from '@moodstream/core';
import { topicNames } from '@moodstream/events';
import { createDashboardApp, parseDashboardConfig } from '@moodstream/dashboard';
import { createIngesterApp, IngesterConfigSchema, type IngesterApp } from '@moodstream/ingester';
import { createScorerApp, ScorerConfigSchema } from '@moodstream/scorer';
import { createMemoryTrendsStore, createTrendsHttpHandler, createTrendsService, loadConfusion, trendsConfigSchema } from '@moodstream/trends';
import type { StartConfig } from './config';
import { startDemoImages, type DemoImages } from './demo-images';
import type { ArchiveRun } from './demo-ingest';
import type { plantedShiftWindow } from './demo-plan';
import { startDemoRun } from './demo-run';
import type { Progress } from './progress';

/**
 * The one-process stack behind `npm start`: in-memory bus and trends store, the scorer, the trends
 * aggregator, the dashboard, and the ingester (demo archive replay, or live Tumblr with a key).
 * Each app is built by its own factory, exactly as its standalone main builds it, only on the
 * in-memory bus. Also what the end-to-end browser test runs.
 */
export interface EmbeddedStackOptions {
  config: StartConfig;
  progress: Progress;
  logger: Logger;
  demoImagesDir?: string | undefined;
  /** Where each app reads its own settings; default process.env. */
  env?: Record<string, string | undefined>;
}

export interface EmbeddedStack {
  readonly url: string;
  readonly port: number;
  readonly bus: Bus;
  readonly topics: ReturnType<typeof topicNames>;
  /** Null when polling live Tumblr. */
  readonly demo: { posts: number; shift: ReturnType<typeof plantedShiftWindow>; historyDone: Promise<void> } | null;
  /** Resolves once every post produced so far has been scored (the start-up backlog is worked off). */
  caughtUp(timeoutMs: number): Promise<void>;
  /** Rejects when any part stops working (the launcher then exits non-zero). */
  readonly failed: Promise<never>;
  close(): Promise<void>;
}

/** Settings each app would get from its own environment; the embedded mode overrides only what must differ. */
function appEnv(env: Record<string, string | undefined>, overrides: Record<string, string>): Record<string, string | undefined> {
  return { ...env, ...overrides };
}

export async function startEmbeddedStack(options: EmbeddedStackOptions): Promise<EmbeddedStack> {
  const { config, progress, logger } = options;
  const env = options.env ?? process.env;
  const closers: (() => Promise<void>)[] = [];
  let rejectFailed: (error: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => {
    rejectFailed = reject;
  });
  failed.catch(() => undefined);
  const fail = (what: string) => (error: unknown) => rejectFailed(new Error(`${what}: ${errorMessage(error)}`, { cause: error }));

  const close = async (): Promise<void> => {
    // Upstream first: stop new posts, let the scorer and aggregator finish what is in flight, then the dashboard.
    for (const closer of closers.splice(0).reverse()) {
      await closer().catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'a part failed to close'));
    }
  };

  try {
    const bus = createMemoryBus({ logger });
    closers.push(() => bus.close());
    const topics = topicNames();
    await bus.ensureTopics(Object.values(topics).map((name) => ({ name })));

    let images: DemoImages | null = null;
    if (options.demoImagesDir !== undefined) {
      images = await startDemoImages({ dir: options.demoImagesDir, share: config.DEMO_IMAGE_SHARE });
      const served = images;
      closers.push(() => served.close());
      progress.step(`serving ${images.imageCount} demo images from ${options.demoImagesDir} at ${images.baseUrl}`);
    }

    const trendsConfig = parseConfig(trendsConfigSchema, env, 'trends');
    const confusion = await loadConfusion(trendsConfig.TRENDS_CONFUSION_PATH).catch(() => null);
    const trends = createTrendsService({
      bus,
      store: createMemoryTrendsStore(),
      logger,
      config: trendsConfig,
      topics,
      groupId: 'moodstream-trends',
      confusion,
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
      onFatal: fail('the scorer stopped'),
    });
    const dashboard = createDashboardApp({
      config: parseDashboardConfig(appEnv(env, { PORT: String(config.PORT), HOST: config.HOST })),
      logger,
      trends,
      api: createTrendsHttpHandler(trends, { logger }),
      onProgress: (line) => progress.step(line),
    });
    // Started side by side (the model load and a possible `next build` are the slow steps). If one fails, the
    // others are still let finish starting, so nothing (a build child process, a worker thread) is left behind.
    const started = await Promise.allSettled([
      dashboard.start(),
      scorer.start().then(() => {
        const engine = scorer.stats().engine;
        progress.step(`emotion model ready${engine === null ? '' : ` (${engine.modelVersion}, ${engine.backend})`}`);
      }),
      trends.start(),
    ]);
    // Closed in reverse: the scorer finishes and commits its batch, the aggregator takes it in, then the dashboard goes.
    const [dashboardStarted, scorerStarted, trendsStarted] = started;
    if (dashboardStarted.status === 'fulfilled') closers.push(() => dashboard.stop());
    if (trendsStarted.status === 'fulfilled') closers.push(() => trends.stop());
    if (scorerStarted.status === 'fulfilled') closers.push(() => scorer.stop());
    const failure = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    const { url, port } = (dashboardStarted as PromiseFulfilledResult<{ url: string; port: number }>).value;

    const caughtUp = async (timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const stats = scorer.stats();
        // The scorer's consumer-lag gauge asks the bus for records not yet consumed by its group.
        const gauge = await scorer.registry.getSingleMetric('moodstream_scorer_consumer_lag')?.get();
        const lag = gauge?.values[0]?.value ?? Infinity;
        if (lag === 0 && stats.waiting === 0 && stats.batchesInFlight === 0 && stats.received === stats.scored) return;
        if (Date.now() > deadline) {
          throw new Error(`the scorer has not caught up after ${timeoutMs} ms (lag ${lag}, received ${stats.received}, scored ${stats.scored}, ${stats.postsPerSecond.toFixed(0)} posts/s)`);
        }
        await sleep(200);
      }
    };

    // Live mode keeps its cursors and request budget in the ingester's default store (a local file), so a
    // restart neither re-reads nor skips; archive runs need no store.
    const ingesterConfig = parseConfig(IngesterConfigSchema, env, 'ingester');
    if (config.TUMBLR_API_KEY !== undefined) {
      const ingester = createIngesterApp({ config: { ...ingesterConfig, TUMBLR_API_KEY: config.TUMBLR_API_KEY }, bus, logger, run: { mode: 'live', tags: [] } });
      await ingester.start();
      closers.push(() => ingester.stop());
      ingester.done.catch(fail('the ingester stopped'));
      progress.step(`polling live Tumblr for ${ingester.tags.join(', ')}`);
      return { url, port, bus, topics, demo: null, failed, close, caughtUp };
    }

    const runArchive = async (file: string, speed: number): Promise<ArchiveRun> => {
      const ingester: IngesterApp = createIngesterApp({ config: ingesterConfig, bus, logger, run: { mode: 'archive', file, speed } });
      await ingester.start();
      return { done: ingester.done, stop: () => ingester.stop() };
    };
    const demo = await startDemoRun({ config, images, runArchive });
    closers.push(() => demo.stop());
    demo.failed.catch(fail('the demo replay stopped'));
    return {
      url,
      port,
      bus,
      topics,
      demo: { posts: demo.posts, shift: demo.shift, historyDone: demo.historyDone },
      failed,
      close,
      caughtUp,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
