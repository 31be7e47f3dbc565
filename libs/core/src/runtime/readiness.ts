import { systemClock, type Clock, type Timer } from '../clock';
import { errorMessage } from '../errors';

/**
 * Readiness: whether a process can do its work now, dependency by dependency (Kafka, Redis, the model). `/healthz`
 * stays liveness (every part runs; a restart would help), `/readyz` is this: 503 while any dependency is down, so a
 * load balancer stops sending requests and an operator sees which one. Each check is bounded by a timeout and its
 * answer reused for `cacheMs`, so a probe storm costs the dependency one round trip per interval.
 */
export interface DependencyReport {
  ok: boolean;
  detail?: unknown;
}

export type DependencyCheck = () => Promise<DependencyReport> | DependencyReport;

export interface ReadinessReport {
  ok: boolean;
  [key: string]: unknown;
  dependencies: Record<string, DependencyReport>;
}

export interface Readiness {
  add(name: string, check: DependencyCheck): void;
  check(): Promise<Record<string, DependencyReport>>;
}

export function createReadiness(options: { timeoutMs?: number; cacheMs?: number; clock?: Clock } = {}): Readiness {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const cacheMs = options.cacheMs ?? 1_000;
  const clock = options.clock ?? systemClock;
  const now = (): number => clock.now();
  /** `at`: when the last round answered (Infinity while it is in flight). */
  const checks = new Map<string, { check: DependencyCheck; last: { at: number; report: Promise<DependencyReport> } | null }>();

  const run = async (check: DependencyCheck): Promise<DependencyReport> => {
    let timer: Timer | undefined;
    const timeout = new Promise<DependencyReport>((resolve) => {
      timer = clock.setTimeout(() => resolve({ ok: false, detail: { reason: `no answer within ${timeoutMs} ms` } }), timeoutMs);
    });
    try {
      return await Promise.race([Promise.resolve().then(check), timeout]);
    } catch (error) {
      return { ok: false, detail: { reason: errorMessage(error) } };
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
    }
  };

  return {
    add(name, check) {
      checks.set(name, { check, last: null });
    },
    async check() {
      const entries = await Promise.all(
        [...checks].map(async ([name, entry]) => {
          // A round in flight is shared; a finished one is reused for cacheMs after it answered.
          if (entry.last === null || now() - entry.last.at >= cacheMs) {
            const last = { at: Infinity, report: run(entry.check) };
            void last.report.then(() => {
              last.at = now();
            });
            entry.last = last;
          }
          return [name, await entry.last.report] as const;
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}

/** A Redis client (ioredis's shape) is ready when connected and answering PING. */
export function redisDependency(client: { status: string; ping(): Promise<unknown> }): DependencyCheck {
  return async () => {
    if (client.status !== 'ready') return { ok: false, detail: { status: client.status } };
    await client.ping();
    return { ok: true, detail: { status: client.status } };
  };
}

/** A dependency that is ready once a flag says so (the model, once loaded). */
export function flagDependency(isReady: () => boolean, detail: () => unknown = () => undefined): DependencyCheck {
  return () => {
    const value = detail();
    return { ok: isReady(), ...(value === undefined ? {} : { detail: value }) };
  };
}
