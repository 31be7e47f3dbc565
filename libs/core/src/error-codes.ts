/**
 * The closed list of error codes moodstream raises on purpose. A code is a type, not a free string:
 * each one says once whether trying again can help (`retriable`) and which HTTP status answers it
 * (`status`), so no caller guesses either from the code's spelling.
 *
 * Add a code here (with a one-line reason) before throwing it anywhere.
 */
export const ERROR_CODES = {
  // Configuration and the caller's own input: fixing the input is the only cure.
  CONFIG_INVALID: { retriable: false, status: 500 },
  VALIDATION_FAILED: { retriable: false, status: 400 },
  BAD_REQUEST: { retriable: false, status: 400 },
  UNAUTHORIZED: { retriable: false, status: 401 },
  FORBIDDEN: { retriable: false, status: 403 },
  NOT_FOUND: { retriable: false, status: 404 },
  METHOD_NOT_ALLOWED: { retriable: false, status: 405 },
  CONFLICT: { retriable: false, status: 409 },
  BODY_TOO_LARGE: { retriable: false, status: 413 },
  /** A request target (path and query) longer than any route needs: refused before it is parsed. */
  URI_TOO_LONG: { retriable: false, status: 414 },
  UNSUPPORTED_MEDIA_TYPE: { retriable: false, status: 415 },
  TOO_MANY_REQUESTS: { retriable: true, status: 429 },
  /** Anything not raised on purpose: a bug or an unexpected library failure. */
  INTERNAL: { retriable: false, status: 500 },
  /** Work given up because its AbortSignal fired (shutdown, a caller's timeout). */
  ABORTED: { retriable: false, status: 503 },
  /** Something this work depends on is away for now (a handler asking for its batch to be tried again later). */
  DEPENDENCY_UNAVAILABLE: { retriable: true, status: 503 },
  /** A part of a service stopped working; the runtime's crash policy takes the process down. */
  SERVICE_PART_FAILED: { retriable: false, status: 500 },

  // The event bus (Kafka or in memory).
  BUS_CLOSED: { retriable: false, status: 503 },
  BUS_CONFIG: { retriable: false, status: 500 },
  BUS_CONSUMER_STATE: { retriable: false, status: 500 },
  BUS_NOT_OWNER: { retriable: true, status: 503 },
  BUS_JOIN_TIMEOUT: { retriable: true, status: 503 },
  /** kafkajs judged the condition transient (a broker away, a leader moving). */
  BUS_KAFKA_UNAVAILABLE: { retriable: true, status: 503 },
  /** kafkajs judged the condition permanent (bad topic, authorisation, protocol). */
  BUS_KAFKA_FAILED: { retriable: false, status: 500 },

  // Tumblr API.
  TUMBLR_AUTH: { retriable: false, status: 502 },
  TUMBLR_RATE_LIMITED: { retriable: true, status: 503 },
  TUMBLR_UNAVAILABLE: { retriable: true, status: 503 },
  TUMBLR_BAD_RESPONSE: { retriable: true, status: 502 },
  /** Tumblr refused the request itself (404, 400, other permanent 4xx): asking again the same way cannot help. */
  TUMBLR_REJECTED: { retriable: false, status: 502 },

  // Image fetching: never retried at the batch level, the post degrades to text-only instead.
  IMAGE_BAD_URL: { retriable: false, status: 400 },
  IMAGE_FORBIDDEN_ADDRESS: { retriable: false, status: 400 },
  IMAGE_DNS_FAILED: { retriable: false, status: 502 },
  IMAGE_CONNECTION_FAILED: { retriable: false, status: 502 },
  IMAGE_TIMEOUT: { retriable: false, status: 504 },
  IMAGE_HTTP_STATUS: { retriable: false, status: 502 },
  IMAGE_TOO_MANY_REDIRECTS: { retriable: false, status: 502 },
  IMAGE_TOO_LARGE: { retriable: false, status: 413 },
  IMAGE_NOT_AN_IMAGE: { retriable: false, status: 415 },
  IMAGE_DECODE_FAILED: { retriable: false, status: 422 },

  // The emotion model and its inference workers.
  MODEL_FORMAT_INVALID: { retriable: false, status: 500 },
  MODEL_OUTPUT_INVALID: { retriable: false, status: 500 },
  MODEL_BACKBONE_UNKNOWN: { retriable: false, status: 500 },
  MODEL_BACKBONE_MISMATCH: { retriable: false, status: 500 },
  /** ONNX Runtime was asked for the image backbone but it (or the exported file) is not there. */
  MODEL_RUNTIME_UNAVAILABLE: { retriable: false, status: 500 },
  INFERENCE_WORKER_FAILED: { retriable: false, status: 500 },

  // Trends: aggregation store, alert webhook, replays.
  TRENDS_REDIS: { retriable: true, status: 503 },
  /** The webhook answered 4xx: sending the same alert again will not help. */
  TRENDS_WEBHOOK_REJECTED: { retriable: false, status: 502 },
  /** The webhook was unreachable, timed out or answered 5xx/429. */
  TRENDS_WEBHOOK_UNAVAILABLE: { retriable: true, status: 502 },
  TRENDS_REPLAY_INVALID: { retriable: false, status: 400 },
  TRENDS_REPLAY_RANGE: { retriable: false, status: 400 },
  TRENDS_REPLAY_EXISTS: { retriable: false, status: 409 },
  TRENDS_RESCORE_UNAVAILABLE: { retriable: false, status: 400 },

  // Dashboard.
  DASHBOARD_BUILD_FAILED: { retriable: false, status: 500 },
} as const satisfies Record<string, { retriable: boolean; status: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
