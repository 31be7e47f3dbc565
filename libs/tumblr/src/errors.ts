import { MoodstreamError } from '@moodstream/core';

/** 401/403: the key is wrong or revoked. Retrying cannot help; the ingester exits non-zero. */
export class TumblrAuthError extends MoodstreamError {
  readonly status: number;
  constructor(status: number) {
    super('TUMBLR_AUTH', `Tumblr rejected the API key (HTTP ${status}): check TUMBLR_API_KEY`, { retriable: false });
    this.status = status;
  }
}

/** 429: wait `retryAfterMs` when Tumblr said how long, else back off with jitter. */
export class TumblrRateLimitError extends MoodstreamError {
  readonly retryAfterMs: number | null;
  constructor(retryAfterMs: number | null) {
    super('TUMBLR_RATE_LIMITED', `Tumblr answered 429 Limit Exceeded${retryAfterMs === null ? '' : ` (retry after ${retryAfterMs} ms)`}`, { retriable: true });
    this.retryAfterMs = retryAfterMs;
  }
}

/** 5xx, timeouts and connection failures: transient. */
export class TumblrServerError extends MoodstreamError {
  readonly status: number | null;
  constructor(status: number | null, message: string, options: { cause?: unknown } = {}) {
    super('TUMBLR_UNAVAILABLE', message, { retriable: true, ...options });
    this.status = status;
  }
}

/** An answer that is not the documented envelope (bad JSON, wrong shape, too large). Retried with backoff. */
export class TumblrResponseError extends MoodstreamError {
  readonly kind: 'not-json' | 'bad-envelope' | 'too-large' | 'unexpected-status';
  constructor(kind: TumblrResponseError['kind'], message: string) {
    super('TUMBLR_BAD_RESPONSE', message, { retriable: true });
    this.kind = kind;
  }
}

/** A short label for metrics (`errors by kind`). */
export function tumblrErrorKind(error: unknown): string {
  if (error instanceof TumblrAuthError) return 'auth';
  if (error instanceof TumblrRateLimitError) return 'rate-limited';
  if (error instanceof TumblrServerError) return error.status === null ? 'network' : 'server';
  if (error instanceof TumblrResponseError) return `response-${error.kind}`;
  return 'other';
}
