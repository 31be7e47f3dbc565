import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { sleep } from '@moodstream/core';

/**
 * The distributed mode's process supervisor: one child per app, output prefixed with the app's name.
 * A child that crashes (non-zero exit, or killed by a signal) is started again after a backoff, with one line saying
 * so; a child that keeps crashing (more than `maxRestarts` within `windowMs`) is given up on, and `exited` resolves so
 * the caller can stop the whole set and say why (a half-running pipeline would silently lose data).
 * A child that exits 0 has finished (an archive run) and is not restarted.
 */
export interface ChildSpec {
  name: string;
  /** Node arguments after `--import tsx`, e.g. ['apps/scorer/src/main.ts']. */
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface RestartPolicy {
  /** Restarts allowed within `windowMs`; one more crash in that window gives up. 0: never restart. */
  maxRestarts: number;
  windowMs: number;
  /** Backoff before the first restart, doubled per crash within the window, capped at `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

/** Five restarts a minute, 1 s backoff doubling to 15 s: rides out a crash or a dependency's restart, not a crash loop. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxRestarts: 5, windowMs: 60_000, initialDelayMs: 1_000, maxDelayMs: 15_000 };

export interface ChildExit {
  name: string;
  /** Exit code; 128 + nothing when killed by a signal. */
  code: number;
  signal: NodeJS.Signals | null;
  /** Crashes counted within the window when the supervisor gave up (0 without a restart policy). */
  crashes: number;
}

export interface Children {
  /** Resolves with the child given up on (it crashed and may not be restarted), or null when all exited cleanly. */
  readonly exited: Promise<ChildExit | null>;
  /** The running process of a child, or null between a crash and its restart. */
  process(name: string): ChildProcess | null;
  /** How many times a child was restarted so far. */
  restarts(name: string): number;
  /** SIGTERM to each; SIGKILL to whatever is still running after the deadline. */
  stop(deadlineMs: number): Promise<void>;
  /** SIGKILL to each, at once (the second Ctrl-C). */
  kill(): void;
}

export interface ChildrenOptions {
  cwd: string;
  write?: (line: string) => void;
  prefixWidth?: number;
  /** Omitted: a crash is never restarted (the first crash resolves `exited`). */
  restart?: RestartPolicy;
}

/** The delay before the next restart, given how many crashes the window holds (1 for the first). */
export function restartDelayMs(policy: RestartPolicy, crashesInWindow: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, crashesInWindow - 1));
}

export function startChildren(specs: ChildSpec[], options: ChildrenOptions): Children {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  // A run started beside others (the demo's ingester beside the apps) lines its prefix up with theirs.
  const width = Math.max(options.prefixWidth ?? 0, ...specs.map((s) => s.name.length));
  const policy = options.restart;
  const running = new Map<string, ChildProcess>();
  const restartCount = new Map<string, number>();
  const crashTimes = new Map<string, number[]>();
  /** Children waiting out a backoff: still part of the set. */
  const pending = new Set<string>();
  const stopped = new AbortController();
  let stopping = false;
  let resolveExited: (value: ChildExit | null) => void = () => undefined;
  const exited = new Promise<ChildExit | null>((resolve) => {
    resolveExited = resolve;
  });
  const settleIfAllGone = (): void => {
    if (running.size === 0 && pending.size === 0) resolveExited(null);
  };

  const launch = (spec: ChildSpec): void => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...spec.args], {
      cwd: options.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches only the launcher, which then stops each child
      // once (a second signal would make a child exit at once instead of shutting down gracefully).
      detached: true,
    });
    running.set(spec.name, child);
    const prefix = spec.name.padEnd(width);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => write(`${prefix} | ${line}`));
    }
    child.on('exit', (code, signal) => {
      running.delete(spec.name);
      const status = code ?? (signal === null ? 1 : 128);
      if (status === 0 || stopping) {
        settleIfAllGone();
        return;
      }
      const how = signal ?? `code ${status}`;
      const now = Date.now();
      const window = (crashTimes.get(spec.name) ?? []).filter((t) => now - t < (policy?.windowMs ?? 0));
      window.push(now);
      crashTimes.set(spec.name, window);
      if (policy === undefined || window.length > policy.maxRestarts) {
        write(
          policy === undefined
            ? `${prefix} | exited with ${how}`
            : `${prefix} | exited with ${how}: crashed ${window.length} times within ${Math.round(policy.windowMs / 1000)}s, not restarting it again`,
        );
        resolveExited({ name: spec.name, code: status, signal, crashes: policy === undefined ? 0 : window.length });
        return;
      }
      const delay = restartDelayMs(policy, window.length);
      const restart = (restartCount.get(spec.name) ?? 0) + 1;
      write(`${prefix} | exited with ${how}; restarting it in ${(delay / 1000).toFixed(1)}s (restart ${restart}; crash ${window.length} of at most ${policy.maxRestarts + 1} within ${Math.round(policy.windowMs / 1000)}s)`);
      pending.add(spec.name);
      void sleep(delay, { signal: stopped.signal }).then((waited) => {
        pending.delete(spec.name);
        if (!waited || stopping) {
          settleIfAllGone();
          return;
        }
        restartCount.set(spec.name, restart);
        launch(spec);
      });
    });
  };
  for (const spec of specs) launch(spec);

  const waitAll = (): Promise<void> =>
    Promise.all([...running.values()].map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())))).then(() => undefined);

  return {
    exited,
    process: (name) => running.get(name) ?? null,
    restarts: (name) => restartCount.get(name) ?? 0,
    async stop(deadlineMs) {
      stopping = true;
      stopped.abort();
      // The deadline's wait ends as soon as every child has exited.
      const allExited = new AbortController();
      const all = waitAll().then(() => allExited.abort());
      for (const child of running.values()) child.kill('SIGTERM');
      if (!(await sleep(deadlineMs, { signal: allExited.signal }))) return;
      for (const child of running.values()) child.kill('SIGKILL');
      await all;
    },
    kill() {
      stopping = true;
      stopped.abort();
      for (const child of running.values()) child.kill('SIGKILL');
    },
  };
}
