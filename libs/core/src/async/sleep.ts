import { systemClock, type Clock } from '../clock';

export interface SleepOptions {
  clock?: Clock;
  /** Ends the sleep early (shutdown); the promise then resolves `false`. */
  signal?: AbortSignal | undefined;
}

/**
 * Waits `ms` on the given clock (virtual in tests). Resolves `true` when the time has passed and `false`
 * when the signal cut it short — it never rejects, so a polling loop reads `while (await sleep(…))`.
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<boolean> {
  const clock = options.clock ?? systemClock;
  const { signal } = options;
  if (signal?.aborted === true) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
