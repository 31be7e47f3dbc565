import { z } from 'zod';
import { normaliseTag, TopicSchema } from './post';

/**
 * The watched-topic registry: tags an operator adds while an event unfolds, on top of the tags the ingester was
 * started with (the six emotion tags and INGEST_TOPICS). Every ingester re-reads it each poll and reports its
 * request budget back, so the dashboard can say what one more tag costs and refuse one the budget cannot carry.
 */

/** A tag as an operator types it: normalised like the ingester's (`normaliseTag`), then checked as a topic. */
export const TagInputSchema = z
  .string()
  .max(200)
  .transform((t) => normaliseTag(t))
  .pipe(TopicSchema.refine((t) => t !== 'all', { message: '"all" is the whole population, not a tag' }));

export const WatchedTopicSchema = z.object({
  tag: TopicSchema,
  /** When it was added, epoch ms; its first poll reads back this far minus the live lookback (its last hour). */
  addedAt: z.number().int().nonnegative(),
  /** Who added it (the operator's name if given, and the client address). */
  addedBy: z.string().max(200),
});
export type WatchedTopic = z.infer<typeof WatchedTopicSchema>;

export const AddTopicRequestSchema = z.object({ tag: TagInputSchema }).strict();

const perWindow = z.object({ perMinute: z.number().nonnegative(), perHour: z.number().nonnegative(), perDay: z.number().nonnegative() });

/** What an ingester reports after each poll round (kept a few poll intervals; a silent ingester's report expires). */
export const IngesterReportSchema = z.object({
  /** Which ingester (host and process id). */
  ingester: z.string().max(200),
  reportedAt: z.number().int().nonnegative(),
  /** The configured limits and whole tokens left in each window now. */
  limits: perWindow,
  left: perWindow,
  pollIntervalMs: z.number().int().positive(),
  /** Tags the ingester polls now, in its order (configured ones first). */
  tags: z.array(TopicSchema),
  /** Tags from its start-up configuration: these cannot be removed at run time. */
  configured: z.array(TopicSchema),
  /** Newest poll per tag, epoch ms. */
  lastPolled: z.record(z.string(), z.number().int().nonnegative()),
});
export type IngesterReport = z.infer<typeof IngesterReportSchema>;

/** How far the request budget goes, as the dashboard shows it before a tag is added. */
export const TopicBudgetSchema = z.object({
  /** Requests an hour the budget sustains: the hourly limit or a 24th of the daily one, whichever is smaller. */
  sustainablePerHour: z.number().nonnegative(),
  /** Requests an hour one more tag costs at one page a poll, at the poll rate the budget allows. */
  costPerTagPerHour: z.number().nonnegative(),
  /** Tags the budget carries while each is still polled at least every `maxPollIntervalMs`. */
  capacity: z.number().int().nonnegative(),
  watched: z.number().int().nonnegative(),
  maxPollIntervalMs: z.number().int().positive(),
  /** The ingester's own report (tokens left now); null when no ingester reported recently. */
  report: IngesterReportSchema.nullable(),
});
export type TopicBudget = z.infer<typeof TopicBudgetSchema>;

export const WatchedTopicsResponseSchema = z.object({
  /** Tags added at run time. */
  topics: z.array(WatchedTopicSchema),
  /** Tags the ingester was started with (not removable here); empty when no ingester reported. */
  configured: z.array(TopicSchema),
  /** Null when no ingester has reported its budget (the demo's archive replay polls nothing). */
  budget: TopicBudgetSchema.nullable(),
});
export type WatchedTopicsResponse = z.infer<typeof WatchedTopicsResponseSchema>;

/** Longest a watched tag may wait between polls before the budget is said not to carry one more tag. */
export const MAX_TAG_POLL_INTERVAL_MS = 15 * 60_000;

const HOUR_MS = 3_600_000;

/**
 * How far a request budget goes across `watched` tags. Sustainable is what the budget allows hour after hour (the
 * daily limit spread over 24 hours when that is the tighter one); a tag costs at least one page per poll, and the
 * ingester's round-robin turns give every tag the same share, so the budget carries a tag while every tag still gets
 * a poll at least every `maxPollIntervalMs`.
 */
export function topicBudget(options: {
  limits: { perMinute: number; perHour: number; perDay: number };
  pollIntervalMs: number;
  watched: number;
  maxPollIntervalMs?: number;
}): Omit<TopicBudget, 'report'> {
  const { limits, watched } = options;
  const maxPollIntervalMs = options.maxPollIntervalMs ?? MAX_TAG_POLL_INTERVAL_MS;
  const sustainablePerHour = Math.min(limits.perMinute * 60, limits.perHour, limits.perDay / 24);
  const capacity = Math.floor((sustainablePerHour * maxPollIntervalMs) / HOUR_MS);
  const costPerTagPerHour = Math.min(HOUR_MS / options.pollIntervalMs, sustainablePerHour / (watched + 1));
  return { sustainablePerHour, costPerTagPerHour, capacity, watched, maxPollIntervalMs };
}
