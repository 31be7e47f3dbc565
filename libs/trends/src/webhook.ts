import { createSerialQueue, errorMessage, MoodstreamError, retry, type Clock, type Limit, type Logger } from '@moodstream/core';
import type { Alert } from '@moodstream/events';

/**
 * A delivery that failed: TRENDS_WEBHOOK_REJECTED when the endpoint answered 4xx (sending the same alert again
 * will not help), TRENDS_WEBHOOK_UNAVAILABLE when it was unreachable, timed out or answered 5xx/408/429 (retried).
 */
export class WebhookError extends MoodstreamError {
  constructor(code: 'TRENDS_WEBHOOK_REJECTED' | 'TRENDS_WEBHOOK_UNAVAILABLE', message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

export interface WebhookNotifierOptions {
  url: string;
  retries: number;
  timeoutMs: number;
  logger: Logger;
  clock: Clock;
  /** Injected for tests; defaults to global fetch. */
  fetch?: typeof fetch;
  /** Alerts waiting beyond this are dropped (oldest first) and logged: a dead webhook must not grow memory. */
  maxQueue?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  onResult?: (outcome: 'delivered' | 'failed' | 'dropped', alert: Alert) => void;
}

/** Statuses worth another try: the endpoint is overloaded or briefly away, not refusing this alert. */
function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * POSTs alerts to a webhook from a background queue: `notify` returns at once, so a slow or dead endpoint never
 * holds up aggregation. The body is the Alert as stored, with its explanation and (TRENDS_WORD_SHIFT on) its word
 * shift, the terms that moved the share (docs/word-shift.md). 5xx, 429 and network errors are retried with backoff; other 4xx are not.
 */
export class WebhookNotifier {
  /** Waiting alerts, bounded (drop-oldest), which a serial queue of one would not be. */
  private readonly waiting: Alert[] = [];
  /** One delivery at a time, in order. */
  private readonly worker: Limit = createSerialQueue();
  /** Fires on close: a backoff wait ends at once and nothing is retried any more. */
  private readonly closing = new AbortController();
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: WebhookNotifierOptions) {
    this.fetchImpl = options.fetch ?? fetch;
  }

  notify(alert: Alert): void {
    if (this.closing.signal.aborted) return;
    const max = this.options.maxQueue ?? 1_000;
    if (this.waiting.length >= max) {
      const dropped = this.waiting.shift();
      if (dropped !== undefined) {
        this.options.logger.warn({ alert: dropped.id }, 'webhook queue full: dropping the oldest alert');
        this.options.onResult?.('dropped', dropped);
      }
    }
    this.waiting.push(alert);
    // One drain queued behind the running one is enough: it takes every alert waiting by then.
    if (this.worker.pendingCount === 0) void this.worker.run(() => this.drain());
  }

  /** Resolves when the queue is empty (or close() was called). */
  settled(): Promise<void> {
    return this.worker.idle();
  }

  /** Stops retrying; alerts still queued are logged as undelivered. */
  async close(): Promise<void> {
    this.closing.abort();
    await this.worker.idle();
  }

  private async drain(): Promise<void> {
    for (let alert = this.waiting.shift(); alert !== undefined; alert = this.waiting.shift()) {
      if (this.closing.signal.aborted) {
        this.options.logger.warn({ alert: alert.id }, 'webhook not delivered: shutting down');
        this.options.onResult?.('failed', alert);
        continue;
      }
      await this.deliver(alert);
    }
  }

  private async deliver(alert: Alert): Promise<void> {
    const { logger } = this.options;
    let attempts = 1;
    try {
      await retry(() => this.post(alert), {
        retries: this.options.retries,
        initialDelayMs: this.options.initialDelayMs ?? 500,
        maxDelayMs: this.options.maxDelayMs ?? 30_000,
        jitter: 0.3,
        clock: this.options.clock,
        signal: this.closing.signal,
        onRetry: (error, attempt, delayMs) => {
          attempts = attempt + 1;
          logger.info({ alert: alert.id, attempt, delayMs, err: errorMessage(error) }, 'webhook delivery failed: retrying');
        },
      });
      this.options.onResult?.('delivered', alert);
    } catch (error) {
      logger.warn({ alert: alert.id, attempts, err: errorMessage(error) }, 'webhook delivery failed');
      this.options.onResult?.('failed', alert);
    }
  }

  private async post(alert: Alert): Promise<void> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'moodstream-trends' },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
    } catch (error) {
      throw new WebhookError('TRENDS_WEBHOOK_UNAVAILABLE', `webhook unreachable: ${errorMessage(error)}`, { cause: error });
    }
    // Drain the body so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return;
    const code = isTransientStatus(response.status) ? 'TRENDS_WEBHOOK_UNAVAILABLE' : 'TRENDS_WEBHOOK_REJECTED';
    throw new WebhookError(code, `webhook answered ${response.status}`);
  }
}
