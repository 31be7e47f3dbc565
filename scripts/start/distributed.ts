import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { errorMessage, sleep } from '@moodstream/core';
import { startChildren, type ChildSpec } from './children';
import type { StartConfig } from './config';
import { startDemoImages, type DemoImages } from './demo-images';
import type { ArchiveRun } from './demo-ingest';
import { startDemoRun } from './demo-run';
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

async function waitForHealth(url: string, timeoutMs: number, exited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited()) {
    const ok = await fetch(new URL('/healthz', url)).then((r) => r.ok, () => false);
    if (ok) return true;
    await sleep(500);
  }
  return false;
}

export async function runDistributed(config: StartConfig, demoImagesDir: string | undefined, progress: Progress): Promise<number> {
  progress.step(`starting moodstream as separate processes against Kafka ${config.KAFKA_BROKERS} and Redis ${config.REDIS_URL?.replace(/\/\/[^@]*@/, '//***@')}`);
  const write = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  let images: DemoImages | null = null;
  if (demoImagesDir !== undefined) {
    images = await startDemoImages({ dir: demoImagesDir, share: config.DEMO_IMAGE_SHARE });
    progress.step(`serving ${images.imageCount} demo images at ${images.baseUrl}`);
  }
  const specs: ChildSpec[] = [
    { name: 'dashboard', args: [DASHBOARD_MAIN], env: { PORT: String(config.PORT), HOST: config.HOST, LOG_LEVEL: config.LOG_LEVEL } },
    {
      name: 'scorer',
      args: [SCORER_MAIN],
      env: { LOG_LEVEL: config.LOG_LEVEL, ...(images === null ? {} : { SCORER_IMAGE_ALLOWLIST: '127.0.0.1' }) },
    },
  ];
  if (config.TUMBLR_API_KEY !== undefined) {
    // Cursors and the request budget live in Redis here, shared by whichever machine runs the ingester next.
    specs.push({ name: 'ingester', args: [INGESTER_MAIN, 'live'], env: { LOG_LEVEL: config.LOG_LEVEL, INGEST_STORE: process.env['INGEST_STORE'] ?? 'redis' } });
  }
  const children = startChildren(specs, { cwd: REPO_ROOT, write });
  let exitedEarly = false;
  void children.exited.then((result) => {
    if (result !== null) exitedEarly = true;
  });

  const url = publicUrl(config.HOST, config.PORT);
  progress.step('waiting for the dashboard (it builds the Next.js app first when the build is stale)…');
  if (!(await waitForHealth(url, 10 * 60_000, () => exitedEarly))) {
    await children.stop(config.SHUTDOWN_DEADLINE_MS);
    await images?.close();
    progress.step('the dashboard did not come up');
    return 1;
  }
  progress.step(`dashboard live at ${url}`);

  let demoStop: (() => Promise<void>) | null = null;
  let demoFailure: Promise<unknown> = new Promise(() => undefined);
  if (config.TUMBLR_API_KEY === undefined) {
    const runArchive = async (file: string, speed: number): Promise<ArchiveRun> => {
      const child = spawn(process.execPath, ['--import', 'tsx', INGESTER_MAIN, 'archive', '--file', file, '--speed', String(speed)], {
        cwd: REPO_ROOT,
        env: { ...process.env, LOG_LEVEL: config.LOG_LEVEL, METRICS_PORT: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => write(`ingester  | ${line}`));
      const done = new Promise<void>((resolve, reject) =>
        child.on('exit', (code, signal) => (code === 0 || signal === 'SIGTERM' ? resolve() : reject(new Error(`ingester exited with ${signal ?? `code ${code}`}`)))),
      );
      return {
        done,
        stop: async () => {
          child.kill('SIGTERM');
          await done.catch(() => undefined);
        },
      };
    };
    const demo = await startDemoRun({ config, images, runArchive });
    demoStop = () => demo.stop();
    demoFailure = demo.failed.catch((error: unknown) => error);
    progress.step(`demo: replaying ${demo.posts} posts through the ingester; the planted "${demo.shift.emotion}" shift on "${demo.shift.topic}" should raise an alert within a couple of minutes`);
  }
  progress.step('press Ctrl-C to stop');

  let signals = 0;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (): void => {
      signals++;
      if (signals > 1) {
        progress.step('second signal: killing every process now');
        children.kill();
        resolve(1);
        return;
      }
      progress.step('stopping every process…');
      void (async () => {
        await demoStop?.();
        await children.stop(config.SHUTDOWN_DEADLINE_MS);
        await images?.close();
        resolve(0);
      })();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const crashed = Promise.race([children.exited, demoFailure]).then(async (result) => {
    if (result === null || signals > 0) return new Promise<number>(() => undefined);
    progress.step(`stopping after a failure: ${result instanceof Error ? errorMessage(result) : `${(result as { name: string }).name} exited`}`);
    await demoStop?.();
    await children.stop(config.SHUTDOWN_DEADLINE_MS);
    await images?.close();
    return 1;
  });
  return Promise.race([stopped, crashed]);
}
