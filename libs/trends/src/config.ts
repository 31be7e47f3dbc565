import { z } from 'zod';
import { WindowSizeSchema } from '@moodstream/events';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const ms = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Trends settings, env-style so the same schema parses `process.env` in the dashboard's server
 * and in the standalone aggregator. Every key has a default that suits a live deployment.
 */
export const trendsConfigSchema = z.object({
  /** Events whose 1-minute bucket closed more than this long before the watermark are counted and dropped. */
  TRENDS_ALLOWED_LATENESS_MS: ms(10 * 60_000),
  /** How long buckets of each size are kept (Redis TTL, refreshed on write). */
  TRENDS_RETENTION_1M_MS: ms(2 * DAY),
  TRENDS_RETENTION_5M_MS: ms(14 * DAY),
  TRENDS_RETENTION_1H_MS: ms(90 * DAY),
  TRENDS_RETENTION_1D_MS: ms(2 * 365 * DAY),
  /** How long an isolated replay namespace is kept after its last write. */
  TRENDS_REPLAY_RETENTION_MS: ms(DAY),
  /** Example posts kept per bucket and emotion for drill-down and alerts. */
  TRENDS_EXAMPLES_PER_BUCKET: z.coerce.number().int().min(1).max(100).default(20),

  /**
   * Word-shift bookkeeping (which terms moved a share; docs/word-shift.md): `off` skips it (no tables, no word shift
   * on alerts, /api/word-shift answers 404); benchmarks compare the two.
   */
  TRENDS_WORD_SHIFT: z
    .enum(['on', 'off', 'true', 'false', '1', '0'])
    .default('on')
    .transform((v) => v === 'on' || v === 'true' || v === '1'),
  /** Distinct terms kept per topic and bucket; beyond it a fixed-priority sample is kept and the rest pooled (sums still close). */
  TRENDS_WORD_SHIFT_TERMS: z.coerce.number().int().min(16).max(100_000).default(2_000),
  /** Windows of the same size before a window that make its word-shift baseline. */
  TRENDS_WORD_SHIFT_BASELINE_WINDOWS: z.coerce.number().int().min(1).max(288).default(10),
  /** Terms an alert carries in its word shift. */
  TRENDS_WORD_SHIFT_ALERT_TERMS: z.coerce.number().int().min(1).max(100).default(10),

  /** Window size alerts are evaluated on. */
  TRENDS_ALERT_WINDOW: WindowSizeSchema.default('1m'),
  /** Family-wise significance level; divided by the number of topic×emotion pairs watched (Bonferroni). */
  TRENDS_ALERT_LEVEL: z.coerce.number().gt(0).lt(1).default(0.01),
  /** Consecutive significant windows before an alert fires (like Prometheus `for:`). */
  TRENDS_ALERT_FOR_WINDOWS: z.coerce.number().int().min(1).max(100).default(2),
  /** Windows with fewer posts than this are never tested (and do not move the baseline). */
  TRENDS_ALERT_MIN_COUNT: z.coerce.number().int().min(1).default(30),
  /** Weight of the newest window in the EWMA baseline. */
  TRENDS_ALERT_EWMA_ALPHA: z.coerce.number().gt(0).max(1).default(0.1),
  /** Windows of baseline a pair needs before it can alert. */
  TRENDS_ALERT_WARMUP_WINDOWS: z.coerce.number().int().min(1).default(10),
  /** After an alert resolves, the pair stays quiet for this many windows so it does not flap. */
  TRENDS_ALERT_COOLDOWN_WINDOWS: z.coerce.number().int().nonnegative().default(10),
  /** A window is evaluated once the watermark is this far past its end (time for stragglers). */
  TRENDS_ALERT_SETTLE_MS: ms(15_000),
  /** Also alert on the whole population ("all"); off by default because a topic's spike already alerts on its own. */
  TRENDS_ALERT_ON_ALL: flag(false),
  /** Optional: every live alert is POSTed here as JSON (retried with backoff, never blocking aggregation). */
  TRENDS_ALERT_WEBHOOK_URL: z
    .string()
    .url()
    .refine((u) => /^https?:\/\//i.test(u), { message: 'must be an http(s) URL' })
    .optional()
    .or(z.literal('').transform(() => undefined)),
  TRENDS_WEBHOOK_RETRIES: z.coerce.number().int().nonnegative().default(5),
  TRENDS_WEBHOOK_TIMEOUT_MS: ms(5_000),

  /** With no events, the live watermark still follows the clock, lagging it by this much, so windows close. */
  TRENDS_IDLE_WATERMARK_LAG_MS: ms(2 * 60_000),
  /**
   * A consumed partition that is caught up and has delivered nothing new for this long stops holding the live
   * watermark back (the other partitions' event time closes windows), like Flink's source idleness.
   */
  TRENDS_IDLE_PARTITION_TIMEOUT_MS: ms(30_000),
  /** Live `series` updates are pushed at most this often. */
  TRENDS_SERIES_PUSH_MS: ms(1_000),
  /** Records per consumer batch: room for the three partitions of one 4 MiB-per-partition fetch (~3,000 each) together. */
  TRENDS_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(20_000),
  /** Most bytes one Kafka fetch brings per partition (kafkajs's own default is 1 MiB): fewer round trips per record. */
  TRENDS_FETCH_MAX_BYTES: z.coerce.number().int().min(1_024).max(50 * 1_048_576).default(4 * 1_048_576),
  /** Key prefix of everything trends keeps in Redis. */
  TRENDS_REDIS_PREFIX: z.string().min(1).max(100).default('moodstream:trends'),
  /** The model's validation confusion matrix, for corrected shares; missing file → corrected shares are null. */
  TRENDS_CONFUSION_PATH: z.string().default('models/default/confusion.json'),
  /** Re-scoring replays: the model registry a request's `modelVersion` names a version of, and the shipped model. */
  TRENDS_MODEL_REGISTRY: z.string().min(1).default('models/registry'),
  TRENDS_MODEL_DIR: z.string().min(1).default('models/default'),
});

export type TrendsConfig = z.infer<typeof trendsConfigSchema>;

/** Defaults, for tests and embedded use: `trendsConfig({ TRENDS_ALERT_FOR_WINDOWS: '3' })`. */
export function trendsConfig(overrides: Record<string, string | number | boolean | undefined> = {}): TrendsConfig {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(overrides)) env[key] = value === undefined ? undefined : String(value);
  return trendsConfigSchema.parse(env);
}
