/**
 * The HTTP/socket contract now lives in @moodstream/events (it is shared with the browser, which must not load this
 * Node package). Re-exported under its old names so existing importers of libs/trends keep compiling.
 */
export {
  ALL_TOPICS,
  AlertsQuerySchema,
  ExamplePostSchema,
  ExamplePostsQuerySchema,
  ReplayRequestSchema,
  ReplayStateSchema,
  ReplayStatusSchema,
  SeriesPointSchema,
  SeriesQuerySchema,
  SeriesResponseSchema,
  SeriesUpdateSchema,
  ShareEstimateSchema,
  TopicSummarySchema,
  type AlertsQuery,
  type ApiError,
  type ClientToServerEvents,
  type ExamplePost,
  type ExamplePostsQuery,
  type ReplayRequest,
  type ReplayStatus,
  type SeriesPoint,
  type SeriesQuery,
  type SeriesResponse,
  type SeriesUpdate,
  type ServerToClientEvents,
  type ShareEstimate,
  type TopicSummary,
} from '@moodstream/events';
