import { z } from 'zod';
import { AlertSchema } from './alert';
import { MomentUpdateSchema } from './moments';
import { ModelVersionChangeSchema } from './model-versions';
import { EMOTION_COUNT, EMOTIONS, EmotionSchema, type Emotion } from './emotions';
import { ModalitySchema } from './scored-post';
import { WindowSizeSchema, type WindowSize } from './windows';

/**
 * The contract between libs/trends (producer of these shapes) and apps/dashboard (consumer):
 * HTTP API bodies under /api and the live events pushed over socket.io. It lives here, with only zod behind it,
 * so the browser checks every answer against the very schemas the server is written to.
 */

const timeParam = z.union([
  z.coerce.number().int().nonnegative(),
  z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'must be epoch ms or an ISO-8601 time' })
    .transform((s) => Date.parse(s)),
]);

/** "all" is the whole population; anything else a watched topic. */
export const ALL_TOPICS = 'all';

export const SeriesQuerySchema = z
  .object({
    topic: z.string().min(1).max(140).default(ALL_TOPICS),
    window: WindowSizeSchema.default('1m'),
    /** Inclusive, epoch ms or ISO. Defaults to `to` − 1 h. */
    from: timeParam.optional(),
    /** Exclusive, epoch ms or ISO. Defaults to now. */
    to: timeParam.optional(),
    /** Read an isolated replay namespace instead of live aggregates. */
    replay: z.string().min(1).max(64).optional(),
  })
  .strict();
export type SeriesQuery = z.infer<typeof SeriesQuerySchema>;

export const ShareEstimateSchema = z.object({
  /** Mean calibrated probability of the emotion over the bucket's posts. */
  share: z.number().min(0).max(1),
  /** 95% interval of the share. */
  lo: z.number().min(0).max(1),
  hi: z.number().min(0).max(1),
});
export type ShareEstimate = z.infer<typeof ShareEstimateSchema>;

const perEmotion = <T extends z.ZodTypeAny>(item: T) =>
  z.object(Object.fromEntries(EMOTIONS.map((e) => [e, item])) as Record<Emotion, T>);

export const SeriesPointSchema = z.object({
  /** Bucket start, epoch ms. */
  start: z.number().int().nonnegative(),
  count: z.number().int().nonnegative(),
  shares: perEmotion(ShareEstimateSchema),
  /** Shares corrected for the classifier's confusion (adjusted classify-and-count); null when unavailable. */
  corrected: perEmotion(z.number().min(0).max(1)).nullable(),
  /** How many posts had each emotion as their top prediction. */
  topCounts: perEmotion(z.number().int().nonnegative()),
  explicitCount: z.number().int().nonnegative(),
});
export type SeriesPoint = z.infer<typeof SeriesPointSchema>;

export const SeriesResponseSchema = z.object({
  topic: z.string(),
  window: WindowSizeSchema,
  from: z.number(),
  to: z.number(),
  replay: z.string().nullable(),
  points: z.array(SeriesPointSchema),
});
export type SeriesResponse = z.infer<typeof SeriesResponseSchema>;

export const TopicSummarySchema = z.object({
  topic: z.string(),
  /** Posts in the last 24 h. */
  count: z.number().int().nonnegative(),
  lastSeen: z.number().int().nonnegative().nullable(),
});
export type TopicSummary = z.infer<typeof TopicSummarySchema>;

export const AlertsQuerySchema = z
  .object({
    topic: z.string().min(1).max(140).optional(),
    replay: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export type AlertsQuery = z.infer<typeof AlertsQuerySchema>;

export const ExamplePostsQuerySchema = z
  .object({
    topic: z.string().min(1).max(140).default(ALL_TOPICS),
    window: WindowSizeSchema.default('1m'),
    /** Bucket start, epoch ms or ISO. */
    start: timeParam,
    emotion: EmotionSchema.optional(),
    replay: z.string().min(1).max(64).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();
export type ExamplePostsQuery = z.infer<typeof ExamplePostsQuerySchema>;

/** GET /api/word-shift: which terms moved `emotion`'s share in one bucket against the buckets before it. Answers a WordShift. */
export const WordShiftQuerySchema = z
  .object({
    topic: z.string().min(1).max(140).default(ALL_TOPICS),
    window: WindowSizeSchema.default('1m'),
    /** Bucket start, epoch ms or ISO. */
    start: timeParam,
    emotion: EmotionSchema,
    /** Windows of the same size before it that make the baseline (default: the trends config's). */
    baselineWindows: z.coerce.number().int().min(1).max(288).optional(),
    /** Terms listed, largest contribution first; the others are summed into `rest`. */
    limit: z.coerce.number().int().min(1).max(100).default(15),
    replay: z.string().min(1).max(64).optional(),
  })
  .strict();
export type WordShiftQuery = z.infer<typeof WordShiftQuerySchema>;

export const ExamplePostSchema = z.object({
  postId: z.string(),
  timestamp: z.number(),
  /** User text: render as text, never HTML. */
  text: z.string(),
  imageUrl: z.string().nullable(),
  url: z.string().nullable(),
  probabilities: z.array(z.number()).length(EMOTION_COUNT),
  topEmotion: EmotionSchema,
  modality: ModalitySchema,
  /** 0..1; the dashboard hides images above its threshold behind a click. */
  explicit: z.number().nullable(),
});
export type ExamplePost = z.infer<typeof ExamplePostSchema>;

export const ReplayRequestSchema = z
  .object({
    topic: z.string().min(1).max(140),
    from: timeParam,
    to: timeParam,
    /** Multiple of real time, or "max" for flat out. */
    speed: z.union([z.literal('max'), z.coerce.number().positive().max(1_000_000)]).default(60),
    /** Re-score past Posts with the current model instead of re-reading past ScoredPosts. */
    rescore: z.boolean().default(false),
    /** With rescore: the model-registry version to re-score with (default: the promoted one, else the shipped model). */
    modelVersion: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a model version is [A-Za-z0-9._-], at most 64 characters').optional(),
  })
  .strict()
  .refine((r) => r.to > r.from, { message: '`to` must be after `from`', path: ['to'] })
  .refine((r) => r.modelVersion === undefined || r.rescore, { message: '`modelVersion` needs `rescore: true`', path: ['modelVersion'] });
export type ReplayRequest = z.infer<typeof ReplayRequestSchema>;

export const ReplayStateSchema = z.enum(['running', 'paused', 'done', 'stopped', 'failed']);
export const ReplayStatusSchema = z.object({
  id: z.string(),
  topic: z.string(),
  from: z.number(),
  to: z.number(),
  speed: z.union([z.literal('max'), z.number()]),
  rescore: z.boolean(),
  /** The model version a re-scoring replay scores with; null when it re-reads stored scores. */
  modelVersion: z.string().nullable().optional(),
  /** The dashboard instance running it (the replay registry is shared by every instance). */
  startedBy: z.string().optional(),
  state: ReplayStateSchema,
  /** 0..1 share of the time range replayed. */
  progress: z.number().min(0).max(1),
  /** The replayed clock: the historical time reached so far, epoch ms. */
  cursor: z.number(),
  processed: z.number().int().nonnegative(),
  alerts: z.number().int().nonnegative(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  error: z.string().nullable(),
});
export type ReplayStatus = z.infer<typeof ReplayStatusSchema>;

/** Pushed live (socket.io event `series`) whenever a bucket changes. */
export const SeriesUpdateSchema = z.object({
  topic: z.string(),
  window: WindowSizeSchema,
  replay: z.string().nullable(),
  point: SeriesPointSchema,
});
export type SeriesUpdate = z.infer<typeof SeriesUpdateSchema>;

/**
 * socket.io events server → browser, each with the schema its payload must match. The browser parses every message
 * with these before using it; the server's typed emitters are derived from the same map.
 */
export const SERVER_EVENT_SCHEMAS = {
  series: SeriesUpdateSchema,
  alert: AlertSchema,
  replay: ReplayStatusSchema,
  topics: z.array(TopicSummarySchema),
  moment: MomentUpdateSchema,
  /** A topic's posts are scored by a new model version (see model-versions.ts). */
  modelVersion: ModelVersionChangeSchema,
} as const;
export type ServerEventName = keyof typeof SERVER_EVENT_SCHEMAS;
export type ServerEventPayload<E extends ServerEventName> = z.infer<(typeof SERVER_EVENT_SCHEMAS)[E]>;

/** socket.io events server → browser. */
export type ServerToClientEvents = { [E in ServerEventName]: (payload: ServerEventPayload<E>) => void };

/** socket.io events browser → server. */
export interface ClientToServerEvents {
  /** Limit `series` pushes to one topic and window (and optionally a replay). */
  watch: (selection: { topic: string; window: WindowSize; replay?: string | null }) => void;
}

/** Lists come wrapped in an object named after them, so a list endpoint can grow paging fields later. */
export const TopicsResponseSchema = z.object({ topics: z.array(TopicSummarySchema) });
export const AlertsResponseSchema = z.object({ alerts: z.array(AlertSchema) });
export const ExamplePostsResponseSchema = z.object({ posts: z.array(ExamplePostSchema) });
export const ReplaysResponseSchema = z.object({ replays: z.array(ReplayStatusSchema) });

/** Error body of every 4xx/5xx from the API. */
export const ApiErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ApiError = z.infer<typeof ApiErrorSchema>;
