import type { IncomingMessage, ServerResponse } from 'node:http';
import { MoodstreamError, sendError } from '@moodstream/core';
import type { TrendsEvents } from '@moodstream/trends';

export type { TrendsEvents };

/**
 * The part of libs/trends' TrendsService the dashboard server relies on: its live events (queries go through the
 * service's HTTP handler under /api). A TrendsService is one; so is a test's double.
 */
export interface TrendsEventSource {
  on<E extends keyof TrendsEvents>(event: E, listener: (...args: TrendsEvents[E]) => void): unknown;
  off<E extends keyof TrendsEvents>(event: E, listener: (...args: TrendsEvents[E]) => void): unknown;
}

/** Answers the /api/* requests it owns; resolves false for any other path. */
export type TrendsHttpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/**
 * The trends API while a dependency it reads is down (Redis during an outage): every /api request is answered at once
 * with 503 DEPENDENCY_UNAVAILABLE instead of waiting out the client's retries (up to seconds) and failing with 500.
 */
export function failFastWhileDown(handler: TrendsHttpHandler, dependency: { name: string; up: () => boolean }): TrendsHttpHandler {
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if ((path === '/api' || path.startsWith('/api/')) && !dependency.up()) {
      sendError(res, new MoodstreamError('DEPENDENCY_UNAVAILABLE', `${dependency.name} is unavailable; the dashboard reconnects by itself, try again shortly`), {
        headers: { 'retry-after': '5' },
      });
      return true;
    }
    return handler(req, res);
  };
}
