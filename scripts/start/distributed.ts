import { join } from 'node:path';
import { createLogger, createServiceRuntime, errorMessage, sleep } from '@moodstream/core';
import { DEFAULT_RESTART_POLICY, startChildren, type ChildExit, type Children, type ChildSpec } from './children';
import type { StartConfig } from './config';
import { startDemoImages, type DemoImages } from './demo-images';
import type { ArchiveRun } from './demo-ingest';
import { startDemoRun } from './demo-run';
import { demoSession, demoSessionKey } from './demo-session';
import { demoOperatorAccess } from './operator-token';
import { REPO_ROOT } from './paths';
import type { Progress } from './progress';

/**
 * `npm start` with KAFKA_BROKERS and REDIS_URL: each app in its own process against those services,
 * as docker compose runs them — the dashboard (with the trends aggregator inside), the scorer, and the
 * ingester (live polling with a key; otherwise one archive run per demo lap). Returns the exit code.
 */
const DASHBOARD_MAIN = 'apps/dashboard/src/main.ts';
const SCORER_MAIN = 'apps/scorer/src/main.ts';
const INGESTER_MAIN = 'apps/ingester/src/main.ts';

function publicUrl(host: string, port: number): string {
  return `http://${host === '0.0.0.0' || host === '127.0.0.1' ? 'localhost' : host}:${port}`;
}

/** Polls the dashboard's /healthz until it answers 200; false on timeout or once the launcher began closing. */
async function waitForHealth(url: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  do {
    const ok = await fetch(new URL('/healthz', url), { signal }).then((r) => r.ok, () => false);
    if (ok) return true;
  } while (Date.now() < deadline && (await sleep(500, { signal })));
  return false;
}

/** What the last line says when a child keeps crashing: that everything stops, and what to do. */
export function gaveUpMessage(result: ChildExit): string {
  const how = result.signal ?? `code ${result.code}`;
  return (
    `${result.name} kept crashing (${result.crashes} times within ${Math.round(DEFAULT_RESTART_POLICY.windowMs / 1000)}s, last exit ${how}), so every process is being stopped. ` +
    `Its log lines above say why; check that Kafka and Redis answer (\`npm run services:status\`), fix the cause and run \`npm start\` again.`
  );
}

/**
 * The launcher runs as a service of its own (one runtime, name `moodstream`): its parts are the children, the demo
 * and the image server; a child that crashes is restarted with backoff (children.ts), and only one that keeps
 * crashing is a part that died (the same crash policy: everything else is closed gracefully, exit 1); the first Ctrl-C closes everything, a second one exits at once and kills the children
 * (they sit in process groups of their own, so they would outlive the launcher).
 */
export async function runDistributed(config: StartConfig, demoImagesDir: string | undefined, progress: Progress): Promise<number> {
  progress.step(`starting moodstream as separate processes against Kafka ${config.KAFKA_BROKERS} and Redis ${config.REDIS_URL?.replace(/\/\/[^@]*@/, '//***@')}`);
  const write = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  // Every child process group started (the apps, the demo's current ingester run): a second Ctrl-C kills them all.
  const spawned = new Set<Children>();
  let exitWith: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    exitWith = resolve;
  });
  const runtime = createServiceRuntime({
    name: 'moodstream',
    logger: createLogger('moodstream', { level: config.LOG_LEVEL }),
    // The children get the whole budget (then SIGKILL); the launcher a little more to see them go.
    deadlineMs: config.SHUTDOWN_DEADLINE_MS + 5_000,
    exit: (code) => {
      for (const group of spawned) group.kill();
      exitWith(code);
    },
  });
  runtime.signal.addEventListener('abort', () => progress.step('stopping every process…'));
  runtime.installSignals();
  const fail = (part: string) => (error: unknown) => {
    if (!runtime.signal.aborted) progress.step(`stopping after a failure: ${errorMessage(error)}`);
    runtime.crash(part)(error);
  };

  let images: DemoImages | null = null;
  if (demoImagesDir !== undefined) {
    const served = await startDemoImages({ dir: demoImagesDir, share: config.DEMO_IMAGE_SHARE });
    runtime.onClose('demo-images', () => served.close());
    images = served;
    progress.step(`serving ${images.imageCount} demo images at ${images.baseUrl}`);
  }
  const access = demoOperatorAccess(config.HOST, process.env);
  progress.step(access.line);
  const specs: ChildSpec[] = [
    { name: 'dashboard', args: [DASHBOARD_MAIN], env: { PORT: String(config.PORT), HOST: config.HOST, LOG_LEVEL: config.LOG_LEVEL, ...access.env } },
    {
      name: 'scorer',
      args: [SCORER_MAIN],
      env: { LOG_LEVEL: config.LOG_LEVEL, ...(images === null ? {} : { SCORER_IMAGE_ALLOWLIST: '127.0.0.1' }) },
    },
  ];
  if (config.TUMBLR_API_KEY !== undefined) {
    // Cursors and the request budget live in Redis here, shared by whichever machine runs the ingester next.
    // Tags added on the dashboard come from the registry beside the trends data (docs/live-events.md).
    const registry = { INGEST_TOPIC_REGISTRY: process.env['INGEST_TOPIC_REGISTRY'] ?? 'redis', INGEST_TOPIC_REGISTRY_PREFIX: process.env['TRENDS_REDIS_PREFIX'] ?? 'moodstream:trends' };
    specs.push({ name: 'ingester', args: [INGESTER_MAIN, 'live'], env: { LOG_LEVEL: config.LOG_LEVEL, INGEST_STORE: process.env['INGEST_STORE'] ?? 'redis', ...registry } });
  }
  // A crashed app is restarted with backoff (its consumers resume from committed offsets, the aggregator's writes are
  // idempotent); only one that keeps crashing stops the stack.
  const apps = startChildren(specs, { cwd: REPO_ROOT, write, restart: DEFAULT_RESTART_POLICY });
  spawned.add(apps);
  runtime.onClose('apps', () => apps.stop(config.SHUTDOWN_DEADLINE_MS));
  void apps.exited.then((result) => {
    if (result !== null) fail(result.name)(new Error(gaveUpMessage(result)));
  });

  const url = publicUrl(config.HOST, config.PORT);
  progress.step('waiting for the dashboard (it builds the Next.js app first when the build is stale)…');
  if (!(await waitForHealth(url, 10 * 60_000, runtime.signal))) {
    if (!runtime.signal.aborted) fail('dashboard')(new Error('the dashboard did not come up within 10 minutes'));
    return exited;
  }
  progress.step(`dashboard live at ${url}`);

  if (config.TUMBLR_API_KEY === undefined) {
    const runArchive = async (file: string, speed: number): Promise<ArchiveRun> => {
      const run = startChildren([{ name: 'ingester', args: [INGESTER_MAIN, 'archive', '--file', file, '--speed', String(speed)], env: { LOG_LEVEL: config.LOG_LEVEL, METRICS_PORT: '0' } }], {
        cwd: REPO_ROOT,
        write,
        prefixWidth: 'dashboard'.length,
      });
      spawned.add(run);
      const done = run.exited.then((result) => {
        spawned.delete(run);
        if (result !== null) throw new Error(`ingester exited with code ${result.code}`);
      });
      return {
        done,
        stop: async () => {
          await run.stop(config.SHUTDOWN_DEADLINE_MS);
          await done.catch(() => undefined);
        },
      };
    };
    // Kafka and Redis outlive this run: a restart resumes the demo's clock and ids instead of re-stamping its history.
    const session = demoSession(
      join(REPO_ROOT, '.data', 'demo-session.json'),
      demoSessionKey({
        brokers: config.KAFKA_BROKERS,
        redis: config.REDIS_URL,
        topicPrefix: process.env['MOODSTREAM_TOPIC_PREFIX'],
        trendsPrefix: process.env['TRENDS_REDIS_PREFIX'],
        file: config.DEMO_FILE,
        speed: config.DEMO_SPEED,
        historySpeed: config.DEMO_HISTORY_SPEED,
        lead: config.DEMO_LEAD_MINUTES,
      }),
      Date.now(),
    );
    progress.step(
      session.resumed
        ? `demo: resuming the session started at ${new Date(session.startAt).toISOString()} (same post times and ids: nothing is counted twice)`
        : `demo: session ${session.session} starts now`,
    );
    const demo = await startDemoRun({ config, images, runArchive, session });
    runtime.onClose('demo', () => demo.stop());
    // A Ctrl-C while the demo was starting closed the rest without it.
    if (runtime.signal.aborted) await demo.stop();
    demo.failed.catch(fail('demo'));
    progress.step(`demo: replaying ${demo.posts} posts through the ingester; the planted "${demo.shift.emotion}" shift on "${demo.shift.topic}" should raise an alert within a couple of minutes`);
  }
  progress.step('press Ctrl-C to stop');
  return exited;
}
