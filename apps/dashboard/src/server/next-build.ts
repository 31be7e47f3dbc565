import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MoodstreamError, withProcessLock } from '@moodstream/core';

/** apps/dashboard: Next.js's project directory (app/, next.config.mjs, .next/). */
export const DASHBOARD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Everything `next build` compiles into the browser bundle; a change to any of it makes the build stale. */
const BUILD_INPUTS = ['app', 'src/ui', '../../libs/events/src', 'next.config.mjs', 'tsconfig.next.json', 'package.json'];
const HASH_FILE = 'moodstream-source-hash';
/** Several test files and a launcher may want a build at once: one builds, the others wait for it. */
const LOCK_FILE = '.next-build.pid';

export class DashboardBuildError extends MoodstreamError {
  constructor(message: string) {
    super('DASHBOARD_BUILD_FAILED', message);
  }
}

async function listFiles(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => null);
  if (info === null) return [];
  if (info.isFile()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => listFiles(join(path, e.name))));
  return nested.flat();
}

/** A digest of the build inputs and the Next.js version: equal digests mean the existing build is current. */
export async function sourceDigest(dir = DASHBOARD_DIR): Promise<string> {
  const hash = createHash('sha256');
  const require = createRequire(join(dir, 'package.json'));
  hash.update(`next@${(require('next/package.json') as { version: string }).version}\n`);
  const files = (await Promise.all(BUILD_INPUTS.map((p) => listFiles(join(dir, p))))).flat().sort();
  for (const file of files) {
    hash.update(`${relative(dir, file)}\n`);
    hash.update(await readFile(file));
  }
  return hash.digest('hex');
}

export async function isBuildCurrent(dir = DASHBOARD_DIR): Promise<boolean> {
  const [built, buildId] = await Promise.all([
    readFile(join(dir, '.next', HASH_FILE), 'utf8').catch(() => null),
    stat(join(dir, '.next', 'BUILD_ID')).catch(() => null),
  ]);
  return built !== null && buildId !== null && built.trim() === (await sourceDigest(dir));
}

export interface EnsureBuildResult {
  /** False when the existing build was current. */
  built: boolean;
  ms: number;
}

/**
 * Makes sure apps/dashboard/.next holds a production build of the current sources: runs `next build` when it is
 * missing or stale (about 30 s on a 2-core machine), otherwise returns at once. Concurrent callers (several test
 * files, a launcher) wait for one build instead of writing the same directory together.
 */
export async function ensureNextBuild(
  options: { dir?: string; onProgress?: (line: string) => void; force?: boolean } = {},
): Promise<EnsureBuildResult> {
  const dir = options.dir ?? DASHBOARD_DIR;
  const progress = options.onProgress ?? (() => undefined);
  const started = Date.now();
  if (options.force !== true && (await isBuildCurrent(dir))) return { built: false, ms: Date.now() - started };
  return withProcessLock(
    join(dir, LOCK_FILE),
    async () => {
      // Another process may have finished the build while this one waited for the lock.
      if (options.force !== true && (await isBuildCurrent(dir))) return { built: false, ms: Date.now() - started };
      progress('dashboard: building the web app (next build; about 30 s on 2 cores, only when its sources changed)…');
      const digest = await sourceDigest(dir);
      await runNextBuild(dir);
      await writeFile(join(dir, '.next', HASH_FILE), `${digest}\n`);
      const ms = Date.now() - started;
      progress(`dashboard: built in ${(ms / 1000).toFixed(1)} s`);
      return { built: true, ms };
    },
    { onWait: (holder) => progress(`dashboard: waiting for another process (pid ${holder}) to finish building it…`) },
  );
}

function runNextBuild(dir: string): Promise<void> {
  const require = createRequire(join(dir, 'package.json'));
  const nextBin = require.resolve('next/dist/bin/next');
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [nextBin, 'build', dir], {
      cwd: dir,
      env: { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-8_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => reject(new DashboardBuildError(`could not run next build: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new DashboardBuildError(`next build failed (${signal ?? `exit ${code}`}):\n${output.trim()}`));
    });
  });
}
