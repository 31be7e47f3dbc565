import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, parseConfig } from '@moodstream/core';
import { REPO_ROOT } from './paths';

/**
 * The launcher's own environment. Each app reads its own variables too (their schemas are listed in
 * the README's configuration table); these are the ones that choose the mode and shape the demo.
 */
export const StartConfigSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    /** Where the dashboard listens; 0.0.0.0 exposes it to the network. */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** With a key, the ingester polls live Tumblr instead of replaying the demo stream. */
    TUMBLR_API_KEY: z.string().min(1).optional(),
    /** Both set → distributed mode: each app in its own process against these services. */
    KAFKA_BROKERS: z.string().min(1).optional(),
    REDIS_URL: z.string().url().optional(),
    DEMO_FILE: z.string().min(1).default(resolve(REPO_ROOT, 'data/demo/stream.ndjson')),
    /** Multiple of real time at which the live part of the demo plays. */
    DEMO_SPEED: z.coerce.number().positive().max(1_000).default(1),
    /**
     * Multiple of real time at which the demo's history (the quarter hour before "now") is replayed at start.
     * It is replayed in order, not flat out: the aggregator closes event-time windows as the newest post
     * time passes them, and a flat-out burst through a partitioned, parallel pipeline would reorder it.
     */
    DEMO_HISTORY_SPEED: z.coerce.number().min(1).max(10_000).default(60),
    /** How many minutes into the planted mood shift "now" falls at start (the rest of the shift plays live). */
    DEMO_LEAD_MINUTES: z.coerce.number().int().min(-60).max(60).default(2),
    /** Share of live demo posts that carry an image when --demo-images is given. */
    DEMO_IMAGE_SHARE: z.coerce.number().min(0).max(1).default(0.5),
    /**
     * Embedded mode: most megabytes of records each in-memory topic keeps (posts, scored, …), like Kafka's
     * retention.bytes. Records a consumer has not committed are never dropped; older ones are, so a long-running
     * process stays flat. Replays in the embedded mode reach back only as far as this keeps.
     */
    MEMORY_BUS_RETENTION_MB: z.coerce.number().int().min(1).max(65_536).default(64),
    /**
     * Embedded mode: most megabytes (estimated heap) of trends history the in-memory store keeps: word-shift tables,
     * example posts and bucket counts, about 1 MB a minute at the soak's 110 posts/s (20× one Tumblr key's peak rate).
     * Over it, the oldest word shifts and examples go first, 1-minute windows first; counts stay unless nothing else
     * is left. 32 MB keeps every detail of the last ~25 minutes at that stress rate (hours at one key's rate) and
     * reaches its cap within the soak's first quarter hour, so a long run is flat (V8 commits ~3.5 MB per MB kept);
     * the last 23 minutes (the alert detector's baseline) are always kept.
     */
    MEMORY_TRENDS_HISTORY_MB: z.coerce.number().int().min(1).max(65_536).default(32),
    /** Graceful shutdown budget for everything together; a second Ctrl-C exits at once. */
    SHUTDOWN_DEADLINE_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
    /** Level of the apps' JSON logs (the launcher's own progress lines always print). */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  });

export type StartConfig = z.infer<typeof StartConfigSchema>;

export function parseStartConfig(env: Record<string, string | undefined> = process.env): StartConfig {
  // An empty variable means "unset" (KAFKA_BROKERS= npm start), not an invalid value.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  // Checked beside the schema rather than in a refinement, which zod skips when any field is bad:
  // the message should name every problem at once.
  const half = (cleaned['KAFKA_BROKERS'] === undefined) !== (cleaned['REDIS_URL'] === undefined);
  const pairLine = half
    ? `  - ${cleaned['KAFKA_BROKERS'] === undefined ? 'KAFKA_BROKERS' : 'REDIS_URL'}: set both KAFKA_BROKERS and REDIS_URL for the distributed mode, or neither for the embedded one`
    : null;
  let config: StartConfig;
  try {
    config = parseConfig(StartConfigSchema, cleaned, 'npm start');
  } catch (error) {
    if (error instanceof ConfigError && pairLine !== null) throw new ConfigError(`${error.message}\n${pairLine}`);
    throw error;
  }
  if (pairLine !== null) throw new ConfigError(`npm start: invalid configuration\n${pairLine}`);
  return config;
}

export function isDistributed(config: StartConfig): boolean {
  return config.KAFKA_BROKERS !== undefined && config.REDIS_URL !== undefined;
}
