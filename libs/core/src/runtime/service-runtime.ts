import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock';
import { errorMessage } from '../errors';
import { createMetricsRegistry } from '../metrics';
import type { HealthReport } from '../http/ops';
import { createReadiness, type DependencyCheck, type ReadinessReport } from './readiness';

export type PartState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface PartHealth {
  ok: boolean;
  detail?: unknown;
}

export interface PartReport {
  state: PartState;
  ok: boolean;
  detail?: unknown;
  /** Why the part failed (its first failure). */
  error?: string;
}

/** What `/healthz` answers for a service: 200 while `ok`, 503 otherwise. */
export interface ServiceHealth extends HealthReport {
  service: string;
  parts: Record<string, PartReport>;
}

/** Anything the runtime can start, watch and close: an app, a consumer, a server. */
export interface ServicePart {
  start?(): Promise<unknown>;
  stop(): Promise<void>;
  health?(): PartHealth;
}

export interface ServiceRuntimeOptions {
  /** The process's name (`scorer`, `ingester`, `aggregator`, `dashboard`, `moodstream`): the `service` label. */
  name: string;
  logger: Logger;
  registry?: Registry;
  clock?: Clock;
  /** Hard deadline for the whole graceful close; past it the process exits 1 anyway. */
  deadlineMs?: number;
  exit?: (code: number) => void;
}

/**
 * The one lifecycle of every moodstream process (see DEVELOPERS.md, "Service runtime"):
 * - parts are started through `start(name, part)` and closed in reverse order (the last started closes first,
 *   so consumers stop before the bus and clients they use), each close awaited, all within one deadline;
 * - `onClose(name, fn)` registers a plain resource (a bus, a Redis client) the same way;
 * - crash policy: a part that dies calls `crash(name)(error)` (or its `start()` rejects): the runtime logs it
 *   once, closes every other part gracefully and exits non-zero — the same in every app;
 * - `finish()` is the normal end of a finite run (a backfill): graceful close, exit 0;
 * - first SIGINT/SIGTERM: graceful close, exit 0 (1 if a close failed or the deadline passed); a second: exit 1 now.
 */
export interface ServiceRuntime {
  readonly name: string;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly clock: Clock;
  /** Aborted when closing begins: long waits and retries pass it on and end at once. */
  readonly signal: AbortSignal;
  start<P extends ServicePart>(name: string, part: P): Promise<P>;
  onClose(name: string, close: () => Promise<void> | void): void;
  crash(part: string): (error: unknown) => void;
  finish(): Promise<void>;
  /** Graceful close of every part in reverse order; resolves with the exit code it chose. Idempotent. */
  close(reason?: string): Promise<number>;
  health(): ServiceHealth;
  /**
   * Registers a dependency readiness checks (`kafka`, `redis`, `model`): register before starting the parts that need
   * it, so `/readyz` never says ready before it was checked.
   */
  dependency(name: string, check: DependencyCheck): void;
  /** What `/readyz` answers: ready when the service is live (health) and every dependency answers. */
  ready(): Promise<ReadinessReport>;
  installSignals(signals?: NodeJS.Signals[]): () => void;
}

interface Entry {
  name: string;
  state: PartState;
  close: () => Promise<void> | void;
  health?: () => PartHealth;
  error?: string;
}

export function createServiceRuntime(options: ServiceRuntimeOptions): ServiceRuntime {
  const { logger, name } = options;
  const clock = options.clock ?? systemClock;
  const registry = options.registry ?? createMetricsRegistry(name);
  const deadlineMs = options.deadlineMs ?? 15_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const entries: Entry[] = [];
  const readiness = createReadiness({ clock });
  const abort = new AbortController();
  let closing: Promise<number> | null = null;
  let exitCode = 0;
  let exited = false;

  const exitOnce = (code: number): void => {
    if (exited) return;
    exited = true;
    exit(code);
  };

  const partHealth = (entry: Entry): PartReport => {
    const reported = entry.state === 'running' ? entry.health?.() : undefined;
    const ok = entry.state === 'running' && (reported?.ok ?? true);
    return { state: entry.state, ok, ...(reported?.detail === undefined ? {} : { detail: reported.detail }), ...(entry.error === undefined ? {} : { error: entry.error }) };
  };

  new Gauge({
    name: 'moodstream_service_part_up',
    help: 'Whether each part of this process is running and healthy (1) or not (0)',
    labelNames: ['part'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const entry of entries) this.set({ part: entry.name }, partHealth(entry).ok ? 1 : 0);
    },
  });

  const runtime: ServiceRuntime = {
    name,
    logger,
    registry,
    clock,
    signal: abort.signal,

    async start(partName, part) {
      const entry: Entry = { name: partName, state: 'starting', close: () => part.stop(), ...(part.health === undefined ? {} : { health: () => part.health!() }) };
      entries.push(entry);
      try {
        await part.start?.();
      } catch (error) {
        entry.state = 'failed';
        entry.error = errorMessage(error);
        throw error;
      }
      // A close that began while this part was starting still closes it (it is in `entries`).
      if (entry.state === 'starting') entry.state = 'running';
      return part;
    },

    onClose(partName, close) {
      entries.push({ name: partName, state: 'running', close });
    },

    crash(partName) {
      return (error: unknown) => {
        const entry = entries.find((e) => e.name === partName);
        // The first failure is the cause; later ones (the same part failing again while it closes) are echoes.
        if (entry !== undefined && entry.state !== 'failed') {
          entry.state = 'failed';
          entry.error = errorMessage(error);
        }
        exitCode = 1;
        if (closing !== null) {
          logger.error({ part: partName, err: error }, `${partName} failed while the service was closing`);
          return;
        }
        logger.fatal({ part: partName, err: error }, `${partName} stopped working: closing the rest and exiting 1`);
        void runtime.close(`${partName} failed`).then(exitOnce);
      };
    },

    async finish() {
      exitOnce(await runtime.close('finished'));
    },

    close(reason = 'close requested') {
      closing ??= (async () => {
        logger.info({ reason, deadlineMs }, `${name}: closing`);
        abort.abort(new Error(reason));
        const deadline = clock.setTimeout(() => {
          logger.error({ deadlineMs }, `${name}: the graceful close passed its deadline: exiting 1`);
          exitOnce(1);
        }, deadlineMs);
        for (const entry of [...entries].reverse()) {
          if (entry.state === 'stopped') continue;
          const failed = entry.state === 'failed';
          entry.state = failed ? 'failed' : 'stopping';
          try {
            await entry.close();
            if (!failed) entry.state = 'stopped';
            logger.info({ part: entry.name }, `${entry.name} closed`);
          } catch (error) {
            exitCode = 1;
            entry.state = 'failed';
            entry.error = errorMessage(error);
            logger.error({ part: entry.name, err: error }, `${entry.name} failed to close`);
          }
        }
        clock.clearTimeout(deadline);
        logger.info({ exitCode }, `${name}: closed`);
        return exitCode;
      })();
      return closing;
    },

    health() {
      const parts = Object.fromEntries(entries.map((entry) => [entry.name, partHealth(entry)]));
      const ok = closing === null && entries.length > 0 && Object.values(parts).every((part) => part.ok);
      return { ok, service: name, parts };
    },

    dependency(dependencyName, check) {
      readiness.add(dependencyName, check);
    },

    async ready() {
      const live = runtime.health();
      const dependencies = await readiness.check();
      const ok = live.ok && Object.values(dependencies).every((d) => d.ok);
      return { ok, service: name, live: live.ok, dependencies };
    },

    installSignals(signals = ['SIGINT', 'SIGTERM']) {
      let received = 0;
      const onSignal = (signal: NodeJS.Signals): void => {
        received++;
        if (received > 1) {
          logger.warn({ signal }, 'second signal: exiting 1 now');
          exitOnce(1);
          return;
        }
        logger.info({ signal }, 'signal received: closing gracefully (send it again to exit at once)');
        void runtime.close(`signal ${signal}`).then(exitOnce);
      };
      for (const signal of signals) process.on(signal, onSignal);
      return () => {
        for (const signal of signals) process.off(signal, onSignal);
      };
    },
  };
  return runtime;
}
