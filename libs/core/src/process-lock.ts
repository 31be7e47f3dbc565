import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { systemClock, type Clock } from './clock';
import { AbortedError } from './errors';
import { sleep } from './async/sleep';

/** Whether a process exists: signal 0 only tests for it (EPERM: it does, under another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    return process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Takes the lock file (exclusive create), taking over one left by a dead process; returns a live holder's pid otherwise. */
function tryLock(path: string): number | null {
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return null;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(path);
      if (holder !== null && isProcessAlive(holder)) return holder;
      rmSync(path, { force: true });
    }
  }
}

export interface ProcessLockOptions {
  pollMs?: number;
  /** Called once, with the holder's pid, when the lock is held by another live process. */
  onWait?: (holder: number) => void;
  clock?: Clock;
  /** Gives up waiting (AbortedError), e.g. `AbortSignal.timeout(ms)`. */
  signal?: AbortSignal | undefined;
}

/**
 * Runs `fn` while holding a cross-process lock: a pid file created exclusively. A lock left by a dead process is taken
 * over, so a crash never wedges the next run. Used where two processes must not do the same work at once (starting
 * the test services, building the dashboard).
 */
export async function withProcessLock<T>(path: string, fn: () => Promise<T>, options: ProcessLockOptions = {}): Promise<T> {
  const clock = options.clock ?? systemClock;
  let announced = false;
  for (let holder = tryLock(path); holder !== null; holder = tryLock(path)) {
    if (!announced) {
      options.onWait?.(holder);
      announced = true;
    }
    if (!(await sleep(options.pollMs ?? 500, { clock, signal: options.signal }))) {
      throw new AbortedError(`gave up waiting for the lock ${path}, held by pid ${holder}`, { cause: options.signal?.reason });
    }
  }
  try {
    return await fn();
  } finally {
    if (readHolder(path) === process.pid) rmSync(path, { force: true });
  }
}
