import { MoodstreamError } from '@moodstream/core';

/** 401/403: the key is wrong or revoked. Retrying cannot help; the ingester exits non-zero. */
export class TumblrAuthError extends MoodstreamError {
  /** What Tumblr answered (401 or 403); `status` is the code's own, from the closed list. */
  readonly httpStatus: number;
  constructor(httpStatus: number) {
    super('TUMBLR_AUTH', `Tumblr rejected the API key (HTTP ${httpStatus}): check TUMBLR_API_KEY`);
    this.httpStatus = httpStatus;
  }
}

/**
 * 429: wait `retryAfterMs` when Tumblr said how long — its Retry-After, else the reset of the window its
 * rate-limit headers show exhausted — and back off with jitter only when it said nothing.
 */
export class TumblrRateLimitError extends MoodstreamError {
  readonly retryAfterMs: number | null;
  constructor(retryAfterMs: number | null) {
    super('TUMBLR_RATE_LIMITED', `Tumblr answered 429 Limit Exceeded${retryAfterMs === null ? '' : ` (retry after ${retryAfterMs} ms)`}`);
    this.retryAfterMs = retryAfterMs;
  }
}

/** 404, 400 and the other permanent 4xx: this request will be refused again, so its tag is paused, not retried. */
export class TumblrRejectedError extends MoodstreamError {
  readonly httpStatus: number;
  constructor(httpStatus: number, message: string) {
    super('TUMBLR_REJECTED', message);
    this.httpStatus = httpStatus;
  }
}

/** 5xx, timeouts and connection failures: transient. */
export class TumblrServerError extends MoodstreamError {
  /** What Tumblr answered; null when no answer came (timeout, connection refused). */
  readonly httpStatus: number | null;
  constructor(httpStatus: number | null, message: string, options: { cause?: unknown } = {}) {
    super('TUMBLR_UNAVAILABLE', message, options);
    this.httpStatus = httpStatus;
  }
}

/** An answer that is not the documented envelope (bad JSON, wrong shape, too large). Retried with backoff. */
export class TumblrResponseError extends MoodstreamError {
  readonly kind: 'not-json' | 'bad-envelope' | 'too-large' | 'unexpected-status';
  constructor(kind: TumblrResponseError['kind'], message: string) {
    super('TUMBLR_BAD_RESPONSE', message);
    this.kind = kind;
  }
}

/** A short label for metrics (`errors by kind`); 'other' for anything that is not a failed Tumblr call. */
export function tumblrErrorKind(error: unknown): string {
  if (error instanceof TumblrAuthError) return 'auth';
  if (error instanceof TumblrRateLimitError) return 'rate-limited';
  if (error instanceof TumblrServerError) return error.httpStatus === null ? 'network' : 'server';
  if (error instanceof TumblrResponseError) return `response-${error.kind}`;
  if (error instanceof TumblrRejectedError) return 'rejected';
  return 'other';
}

/** A failed Tumblr call worth making again (429, 5xx, network, malformed answer): not a bad key, not our own failure. */
export function isTumblrTransient(error: unknown): boolean {
  return error instanceof MoodstreamError && tumblrErrorKind(error) !== 'other' && error.retriable;
}

/** How long a failed call asks to wait before the next one (a 429's Retry-After); undefined: back off. */
export function tumblrRetryAfterMs(error: unknown): number | undefined {
  return error instanceof TumblrRateLimitError && error.retryAfterMs !== null ? error.retryAfterMs : undefined;
}
