import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Alert } from '@moodstream/events';
import type { ReplayStatus, SeriesUpdate, TopicSummary } from '@moodstream/trends';

/** What the trends service pushes, by event name. */
export interface TrendsEvents {
  series: SeriesUpdate;
  alert: Alert;
  replay: ReplayStatus;
  topics: TopicSummary[];
}

/**
 * The part of libs/trends' TrendsService the dashboard server relies on: its live events. Queries go through the
 * service's own HTTP handler, mounted under /api.
 */
export interface TrendsEventSource {
  on<E extends keyof TrendsEvents>(event: E, listener: (payload: TrendsEvents[E]) => void): unknown;
  off<E extends keyof TrendsEvents>(event: E, listener: (payload: TrendsEvents[E]) => void): unknown;
}

/** Answers the /api/* requests it owns; resolves false for any other path. */
export type TrendsHttpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
