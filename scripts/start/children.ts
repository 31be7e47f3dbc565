import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { sleep } from '@moodstream/core';

/**
 * The distributed mode's process supervisor: one child per app, output prefixed with the app's name,
 * any child that dies takes the whole set down (a half-running pipeline silently loses data).
 */
export interface ChildSpec {
  name: string;
  /** Node arguments after `--import tsx`, e.g. ['apps/scorer/src/main.ts']. */
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Children {
  /** Resolves with the first non-zero exit (name and code), or when all exited cleanly. */
  readonly exited: Promise<{ name: string; code: number } | null>;
  /** SIGTERM to each; SIGKILL to whatever is still running after the deadline. */
  stop(deadlineMs: number): Promise<void>;
  /** SIGKILL to each, at once (the second Ctrl-C). */
  kill(): void;
}

export function startChildren(specs: ChildSpec[], options: { cwd: string; write?: (line: string) => void; prefixWidth?: number }): Children {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  // A run started beside others (the demo's ingester beside the apps) lines its prefix up with theirs.
  const width = Math.max(options.prefixWidth ?? 0, ...specs.map((s) => s.name.length));
  const running = new Map<string, ChildProcess>();
  let stopping = false;
  let resolveExited: (value: { name: string; code: number } | null) => void = () => undefined;
  const exited = new Promise<{ name: string; code: number } | null>((resolve) => {
    resolveExited = resolve;
  });

  for (const spec of specs) {
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
      if (status !== 0 && !stopping) {
        write(`${prefix} | exited with ${signal ?? `code ${status}`}`);
        resolveExited({ name: spec.name, code: status });
      }
      if (running.size === 0) resolveExited(null);
    });
  }

  const waitAll = (): Promise<void> =>
    Promise.all([...running.values()].map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())))).then(() => undefined);

  return {
    exited,
    async stop(deadlineMs) {
      stopping = true;
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
      for (const child of running.values()) child.kill('SIGKILL');
    },
  };
}
