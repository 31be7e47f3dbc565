/**
 * `npm start` — moodstream on one machine.
 *
 * No KAFKA_BROKERS/REDIS_URL: one process, in-memory bus and store, the ingester replaying the bundled
 * demo stream (or polling live Tumblr when TUMBLR_API_KEY is set), the scorer, the trends aggregator
 * and the dashboard. Both set: each app as its own process against those services (what docker
 * compose runs). Ctrl-C shuts everything down within SHUTDOWN_DEADLINE_MS; a second Ctrl-C exits 1.
 */
import { ConfigError, MoodstreamError, createLogger, errorMessage, parseCommandLineOrExit } from '@moodstream/core';
import { isDistributed, parseStartConfig, type StartConfig } from './start/config';
import { runDistributed } from './start/distributed';
import { startEmbeddedStack } from './start/embedded';
import { createProgress, type Progress } from './start/progress';

const START_COMMAND = {
  command: 'npm start',
  summary: "run moodstream and print the dashboard's URL (http://localhost:3000 by default)",
  usage: '[--demo-images DIR]',
  options: {
    'demo-images': { type: 'string', valueName: 'DIR', description: "demo posts carry images from DIR (e.g. ../shared/data/emotion6/images), served on 127.0.0.1 so the scorer's image path runs too" },
  },
  notes: `Environment (see the README's configuration table for every app's variables):
  PORT, HOST              where the dashboard listens (3000, 127.0.0.1)
  TUMBLR_API_KEY          poll live Tumblr instead of replaying the demo stream
  KAFKA_BROKERS, REDIS_URL  both set: distributed mode, one process per app
  DEMO_SPEED              live demo speed, a multiple of real time (1)
  DEMO_HISTORY_SPEED      speed of the demo's history replay at start (60)
  DEMO_LEAD_MINUTES       minutes into the planted mood shift at start (2)
  DEMO_IMAGE_SHARE        share of live demo posts given an image with --demo-images (0.5)
  SHUTDOWN_DEADLINE_MS    graceful shutdown budget (20000)
  LOG_LEVEL               the apps' JSON log level (warn)`,
  exitStatus: 'exit status: 0 stopped cleanly (Ctrl-C), 1 failed or a close failed, 2 bad command line; a second Ctrl-C exits 1 at once.',
} as const;

async function runEmbedded(config: StartConfig, demoImages: string | undefined, progress: Progress): Promise<void> {
  let stoppingAt = 0;
  // The whole process is one service: a part that stops working closes the rest and exits 1; Ctrl-C closes
  // everything within SHUTDOWN_DEADLINE_MS and exits 0; a second Ctrl-C exits 1 at once.
  const exit = (code: number): void => {
    const took = `${((progress.elapsed() - stoppingAt) / 1000).toFixed(1)} s`;
    progress.step(code === 0 ? `stopped cleanly in ${took}` : `stopped in ${took}, exiting ${code}`);
    process.exit(code);
  };
  const logger = createLogger('moodstream', { level: config.LOG_LEVEL });
  const stack = await startEmbeddedStack({ config, demoImagesDir: demoImages, progress, logger, exit });
  const { runtime } = stack;
  runtime.signal.addEventListener('abort', () => {
    stoppingAt = progress.elapsed();
    progress.step(`stopping (${errorMessage(runtime.signal.reason)}): ingester, scorer, aggregator, dashboard…`);
  });
  process.on('uncaughtException', runtime.crash('process'));
  process.on('unhandledRejection', runtime.crash('process'));
  runtime.installSignals();
  progress.step(`dashboard live at ${stack.url}`);
  if (stack.demo !== null) {
    const { topic, emotion } = stack.demo.shift;
    progress.step(`demo: replaying ${stack.demo.posts} posts; the planted "${emotion}" shift on "${topic}" should raise an alert within a couple of minutes`);
  }
  progress.step('press Ctrl-C to stop');
  const demo = stack.demo;
  if (demo !== null) {
    // Worth a line: until the history is scored the chart fills in from the left and no alert can fire yet.
    void demo.historyDone
      .then(() => stack.caughtUp(10 * 60_000))
      .then(
        () => progress.step('demo: the history is scored; posts now arrive live'),
        () => undefined,
      );
  }
}

async function main(): Promise<void> {
  const { values } = parseCommandLineOrExit(START_COMMAND);
  const progress = createProgress();
  const config = parseStartConfig();
  if (isDistributed(config)) {
    process.exit(await runDistributed(config, values['demo-images'], progress));
    return;
  }
  progress.step(`starting moodstream in one process (in-memory bus and store)${config.TUMBLR_API_KEY === undefined ? ', replaying the bundled demo stream' : ', polling live Tumblr'}`);
  await runEmbedded(config, values['demo-images'], progress);
}

main().catch((error: unknown) => {
  // A configuration problem is the user's to fix: say it plainly, without a stack trace; so is any error
  // moodstream raises on purpose (a missing model, a failed build). Only the unexpected ones get a stack.
  const text =
    error instanceof ConfigError
      ? error.message
      : error instanceof MoodstreamError
        ? `npm start failed: ${error.message}`
        : `npm start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  process.stderr.write(`${text}\n`);
  process.exit(1);
});
