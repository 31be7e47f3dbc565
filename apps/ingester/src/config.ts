import { z } from 'zod';
import { kafkaEnv, logLevelEnv, splitList } from '@moodstream/core';
import { EMOTIONS, normaliseTag } from '@moodstream/events';

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

/**
 * The ingester's environment, parsed at boot with `parseConfig`. CLI flags (modes, --tag, --file, …)
 * are separate: see cli.ts.
 */
export const IngesterConfigSchema = z
  .object({
    /** Required for live and backfill; never logged. */
    TUMBLR_API_KEY: z.string().min(1).optional(),
    TUMBLR_API_URL: z.string().url().default('https://api.tumblr.com'),
    /** Extra watched topics (an event's hashtag), comma-separated; the six emotion tags are always watched. */
    INGEST_TOPICS: z.string().default(''),
    INGEST_STORE: z.enum(['file', 'redis', 'memory']).default('file'),
    INGEST_STATE_FILE: z.string().default('.data/ingester-state.jsonl'),
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    INGEST_REDIS_PREFIX: z.string().min(1).default('moodstream:ingester'),
    /**
     * Where tags added at run time (the dashboard's watched topics) are read from, each poll: `redis` in the
     * distributed mode (the dashboard's TRENDS_REDIS_PREFIX must match INGEST_TOPIC_REGISTRY_PREFIX), `file` beside a
     * dashboard on the same machine, `off` for only the start-up tags.
     */
    INGEST_TOPIC_REGISTRY: z.enum(['off', 'file', 'redis']).default('off'),
    INGEST_TOPIC_REGISTRY_FILE: z.string().default('.data/watched-topics.json'),
    INGEST_TOPIC_REGISTRY_PREFIX: z.string().min(1).default('moodstream:trends'),
    /** Posts with fewer known English words are dropped (the study: 5); 0 keeps all. */
    INGEST_MIN_ENGLISH_WORDS: int(5),
    INGEST_BUDGET_PER_MINUTE: int(300, 1),
    INGEST_BUDGET_PER_HOUR: int(1000, 1),
    INGEST_BUDGET_PER_DAY: int(5000, 1),
    /** Least time between two polls of the same tag in live mode. */
    INGEST_POLL_INTERVAL_MS: int(60_000, 100),
    /** On a tag's first live poll, how far back to read. */
    INGEST_LIVE_LOOKBACK_MS: int(3_600_000),
    INGEST_REQUEST_TIMEOUT_MS: int(15_000, 100),
    /** Backoff bounds for 5xx, malformed answers and 429s without Retry-After. */
    INGEST_BACKOFF_INITIAL_MS: int(1_000, 1),
    INGEST_BACKOFF_MAX_MS: int(300_000, 1),
    /** The ops port: /metrics and /healthz (ports of the other services: DEVELOPERS.md). */
    METRICS_PORT: int(9464),
    ...kafkaEnv,
    ...logLevelEnv,
  })
  .passthrough();

export type IngesterConfig = z.infer<typeof IngesterConfigSchema>;

/** The six emotion tags plus the configured topics, normalised and de-duplicated, in that order. */
export function watchedTopics(config: Pick<IngesterConfig, 'INGEST_TOPICS'>, extra: string[] = []): string[] {
  const all = [...EMOTIONS, ...splitList(config.INGEST_TOPICS), ...extra].map(normaliseTag).filter((t) => t.length > 0);
  return [...new Set(all)];
}
