import type { IncomingMessage, ServerResponse } from 'node:http';
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
