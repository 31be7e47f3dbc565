import { z } from 'zod';
import { parseConfig } from '@moodstream/core';

/**
 * The dashboard's environment. The launcher (`npm start`) passes its PORT/HOST through; the standalone
 * `src/main.ts` (distributed mode) also needs KAFKA_BROKERS and REDIS_URL.
 */
export const DashboardConfigSchema = z.object({
  /** 0 picks a free port (tests). */
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  /** 127.0.0.1 keeps the dashboard private to this machine; 0.0.0.0 exposes it (containers). */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Post images whose explicit-content score reaches this are hidden behind a click. */
  DASHBOARD_EXPLICIT_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5),
  /** How often pushed bucket updates are flushed to browsers; a bucket changing many times in between is sent once. */
  DASHBOARD_PUSH_INTERVAL_MS: z.coerce.number().int().min(0).max(10_000).default(250),
  /** Redis pub/sub channel prefix the dashboard instances share live updates on (distributed mode). */
  DASHBOARD_SOCKET_CHANNEL: z.string().min(1).max(200).default('moodstream-dashboard'),
  /**
   * The operator credential for write actions (acknowledging alerts, starting and steering replays), sent as
   * `Authorization: Bearer <token>`. Unset: write actions only from loopback. Never logged.
   */
  DASHBOARD_OPERATOR_TOKEN: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v))
    .refine((v) => v === undefined || v.length >= 16, 'use at least 16 characters (e.g. `openssl rand -hex 24`)'),
  /** Write actions each client address may make per minute (a token bucket, this burst at most); over it: 429. */
  DASHBOARD_WRITE_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(30),
  /** Replays running (or paused) at once on this instance; one more is refused with 429, from loopback too. */
  TRENDS_MAX_CONCURRENT_REPLAYS: z.coerce.number().int().min(1).max(100).default(4),
  /** The same across every instance sharing the replay registry (one Redis); one more is refused with 429. */
  TRENDS_MAX_CONCURRENT_REPLAYS_TOTAL: z.coerce.number().int().min(1).max(1_000).default(16),
  /** Run Next.js in development mode (on-demand compilation, hot reload) instead of the production build. */
  DASHBOARD_DEV: z
    .enum(['0', '1', 'true', 'false'])
    .default('0')
    .transform((v) => v === '1' || v === 'true'),
});

export type DashboardConfig = z.infer<typeof DashboardConfigSchema>;

export function parseDashboardConfig(env: Record<string, string | undefined> = process.env): DashboardConfig {
  return parseConfig(DashboardConfigSchema, env, 'dashboard');
}

/** Defaults for every setting not given: `dashboardConfig({ PORT: 0 })`. */
export function dashboardConfig(overrides: Partial<z.input<typeof DashboardConfigSchema>> = {}): DashboardConfig {
  return DashboardConfigSchema.parse(overrides);
}
