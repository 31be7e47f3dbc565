import { backoffDelay, errorMessage, MoodstreamError, type Clock, type Logger } from '@moodstream/core';
import type { Alert } from '@moodstream/events';

export class WebhookError extends MoodstreamError {
  constructor(message: string, retriable: boolean) {
    super('TRENDS_WEBHOOK', message, { retriable });
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

/**
 * POSTs alerts to a webhook from a background queue: `notify` returns at once, so a slow or dead
 * endpoint never holds up aggregation. 5xx, 429 and network errors are retried with backoff; other 4xx are not.
 */
export class WebhookNotifier {
  private readonly queue: Alert[] = [];
  private running = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: WebhookNotifierOptions) {
    this.fetchImpl = options.fetch ?? fetch;
  }

  notify(alert: Alert): void {
    if (this.closed) return;
    const max = this.options.maxQueue ?? 1_000;
    if (this.queue.length >= max) {
      const dropped = this.queue.shift();
      if (dropped !== undefined) {
        this.options.logger.warn({ alert: dropped.id }, 'webhook queue full: dropping the oldest alert');
        this.options.onResult?.('dropped', dropped);
      }
    }
    this.queue.push(alert);
    if (!this.running) {
      this.running = true;
      this.idle = this.drain().finally(() => {
        this.running = false;
      });
    }
  }

  /** Resolves when the queue is empty (or close() was called). */
  settled(): Promise<void> {
    return this.idle;
  }

  /** Stops retrying; alerts still queued are logged as undelivered. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle;
  }

  private async drain(): Promise<void> {
    for (let alert = this.queue.shift(); alert !== undefined; alert = this.queue.shift()) {
      if (this.closed) {
        this.options.logger.warn({ alert: alert.id }, 'webhook not delivered: shutting down');
        this.options.onResult?.('failed', alert);
        continue;
      }
      await this.deliver(alert);
    }
  }

  private async deliver(alert: Alert): Promise<void> {
    const { retries, logger } = this.options;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.post(alert);
        this.options.onResult?.('delivered', alert);
        return;
      } catch (error) {
        const retriable = error instanceof WebhookError ? error.retriable : true;
        if (!retriable || attempt >= retries || this.closed) {
          logger.warn({ alert: alert.id, attempts: attempt + 1, err: errorMessage(error) }, 'webhook delivery failed');
          this.options.onResult?.('failed', alert);
          return;
        }
        const delay = backoffDelay(attempt, this.options.initialDelayMs ?? 500, this.options.maxDelayMs ?? 30_000, 0.3);
        logger.info({ alert: alert.id, attempt: attempt + 1, delayMs: delay, err: errorMessage(error) }, 'webhook delivery failed: retrying');
        await new Promise<void>((resolve) => this.options.clock.setTimeout(resolve, delay));
      }
    }
  }

  private async post(alert: Alert): Promise<void> {
    const response = await this.fetchImpl(this.options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'moodstream-trends' },
      body: JSON.stringify(alert),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    // Drain the body so the connection can be reused.
    await response.arrayBuffer().catch(() => undefined);
    if (response.ok) return;
    const retriable = response.status >= 500 || response.status === 429 || response.status === 408;
    throw new WebhookError(`webhook answered ${response.status}`, retriable);
  }
}
