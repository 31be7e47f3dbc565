import type { Logger } from 'pino';
import { errorMessage } from '../errors';

/**
 * One log line per outage of a reconnecting client (ioredis reconnects by itself and emits `error` on every failed
 * attempt): the first failure is logged once, as an error with the reason and no stack; the attempts that follow are
 * only counted; when the client is `ready` again one line says how long it was down and how many attempts failed.
 */
export interface ReconnectingClient {
  on(event: 'error', listener: (error: unknown) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
}

export interface OutageState {
  down: boolean;
  since: number | null;
  failedAttempts: number;
  outages: number;
}

export function reportOutages(client: ReconnectingClient, logger: Pick<Logger, 'error' | 'warn'>, what: string, now: () => number = Date.now): OutageState {
  const state: OutageState = { down: false, since: null, failedAttempts: 0, outages: 0 };
  client.on('error', (error: unknown) => {
    state.failedAttempts++;
    if (state.down) return;
    state.down = true;
    state.since = now();
    state.outages++;
    logger.error({ dependency: what, reason: errorMessage(error) }, `${what} is unavailable (${errorMessage(error)}); reconnecting quietly, one line when it answers again`);
  });
  client.on('ready', () => {
    if (!state.down) return;
    const downMs = now() - (state.since ?? now());
    logger.warn({ dependency: what, downMs, failedAttempts: state.failedAttempts }, `${what} answers again after ${(downMs / 1000).toFixed(1)}s (${state.failedAttempts} failed attempts)`);
    state.down = false;
    state.since = null;
    state.failedAttempts = 0;
  });
  return state;
}
