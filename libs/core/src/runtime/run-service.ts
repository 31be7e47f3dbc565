import type { z } from 'zod';
import { parseConfig } from '../config';
import { ConfigError, errorMessage } from '../errors';
import { createLogger } from '../logger';
import { startOpsServer } from '../http/ops';
import { createServiceRuntime, type ServiceRuntime } from './service-runtime';

export interface ServiceSpec<S extends z.ZodTypeAny> {
  /** The process's name: log name, `service` metric label, health report. */
  name: string;
  /** Parsed at boot; every bad variable is reported at once and the process exits 1 before doing anything. */
  config: S;
  env?: Record<string, string | undefined>;
  /** Where `/healthz` and `/metrics` are served; null when the service mounts the ops routes itself (the dashboard). */
  ops: (config: z.infer<S>) => { port: number; host?: string } | null;
  deadlineMs?: (config: z.infer<S>) => number;
  logLevel?: (config: z.infer<S>) => string;
  /** Builds and starts the parts through `runtime.start`/`onClose`; returns once the service is up. */
  main: (runtime: ServiceRuntime, config: z.infer<S>) => Promise<void>;
  /** A start-up failure as one line for the operator (default: the error's message). */
  describeStartError?: (error: unknown) => string;
  exit?: (code: number) => void;
}

/**
 * The `main.ts` of every app: config → logger → runtime (signals, crash policy, ops endpoint) → the app's parts.
 * A failure while starting closes whatever had started and exits 1 with one readable line on stderr.
 */
export async function runService<S extends z.ZodTypeAny>(spec: ServiceSpec<S>): Promise<ServiceRuntime | null> {
  const exit = spec.exit ?? ((code: number) => process.exit(code));
  const describe = spec.describeStartError ?? ((error: unknown) => (error instanceof ConfigError ? error.message : `${spec.name} failed to start: ${errorMessage(error)}`));
  let config: z.infer<S>;
  try {
    config = parseConfig(spec.config, spec.env ?? process.env, spec.name);
  } catch (error) {
    process.stderr.write(`${describe(error)}\n`);
    exit(1);
    return null;
  }
  const logger = createLogger(spec.name, spec.logLevel === undefined ? {} : { level: spec.logLevel(config) });
  const runtime = createServiceRuntime({ name: spec.name, logger, exit, ...(spec.deadlineMs === undefined ? {} : { deadlineMs: spec.deadlineMs(config) }) });
  runtime.installSignals();
  // Anything thrown outside a part is a bug: the same crash policy (close the rest, exit 1) applies.
  process.on('uncaughtException', runtime.crash('process'));
  process.on('unhandledRejection', runtime.crash('process'));
  installFaultInjection(runtime, spec.env ?? process.env);
  try {
    const where = spec.ops(config);
    if (where !== null) {
      const ops = await startOpsServer({
        registry: runtime.registry,
        health: () => runtime.health(),
        ready: () => runtime.ready(),
        port: where.port,
        logger,
        ...(where.host === undefined ? {} : { host: where.host }),
      });
      runtime.onClose('ops', () => ops.close());
      // The message is matched by tests and tools reading the port: kept as it was, /readyz beside it.
      logger.info({ port: ops.port }, `${spec.name}: /healthz and /metrics on port ${ops.port} (readiness: /readyz)`);
    }
    await spec.main(runtime, config);
    return runtime;
  } catch (error) {
    process.stderr.write(`${describe(error)}\n`);
    logger.error({ err: error }, `${spec.name} failed to start`);
    await runtime.close('start failed');
    exit(1);
    return null;
  }
}

/**
 * For the cross-app crash-policy test only (test/service-runtime.int.test.ts): with MOODSTREAM_FAULT_INJECTION=1,
 * SIGUSR2 makes the part named by MOODSTREAM_FAULT_PART fail exactly as if it had died, so the test can watch every
 * app apply the same crash policy. Off unless both variables are set.
 */
function installFaultInjection(runtime: ServiceRuntime, env: Record<string, string | undefined>): void {
  const part = env['MOODSTREAM_FAULT_PART'];
  if (env['MOODSTREAM_FAULT_INJECTION'] !== '1' || part === undefined || part === '') return;
  process.on('SIGUSR2', () => runtime.crash(part)(new Error(`fault injected into ${part} (SIGUSR2)`)));
  runtime.logger.warn({ part }, 'fault injection is on: SIGUSR2 fails this part');
}
