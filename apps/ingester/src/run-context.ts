import type { Clock, Logger } from '@moodstream/core';
import type { TopicRegistryStore } from '@moodstream/trends';
import type { IngestStore, RequestBudget } from '@moodstream/tumblr';
import type { IngesterConfig } from './config';
import type { IngesterMetrics } from './metrics';
import type { PostRecorder } from './recorder';
import type { Backoff, PostSink } from './sink';

export interface IngesterStats {
  produced: number;
  requests: number;
  pages: number;
}

/**
 * What every runner (live, backfill, archive) is handed by the app once it has started: the shared sink, the
 * store and budget (absent for an archive replay, which calls no API), the stop signal and the counters.
 */
export interface RunContext {
  config: IngesterConfig;
  clock: Clock;
  logger: Logger;
  metrics: IngesterMetrics;
  /** Aborted by stop(): every wait of a run ends at once. */
  signal: AbortSignal;
  backoff: Backoff;
  sink: PostSink;
  recorder: PostRecorder | null;
  stats: IngesterStats;
  fetch?: typeof globalThis.fetch;
}

/** The Tumblr-facing part: only live and backfill runs have it. */
export interface ApiContext extends RunContext {
  store: IngestStore;
  budget: RequestBudget;
  /** Every watched topic (normalised): a post's topics are those among its own tags. Live runs add and remove tags. */
  watched: Set<string>;
  /** Tags added at run time, re-read each poll (live only); null: only the start-up tags. */
  registry: TopicRegistryStore | null;
}
