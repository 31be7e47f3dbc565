import { Counter, Gauge, type Registry } from 'prom-client';
import type { RequestBudget } from '@moodstream/tumblr';

/** Everything the issue asks /metrics to show, registered on the app's registry. */
export function createIngesterMetrics(registry: Registry, budget: () => RequestBudget | null) {
  const requests = new Counter({
    name: 'moodstream_ingester_tumblr_requests_total',
    help: 'Tumblr API requests made, by tag and outcome (ok, rate-limited, server, auth, …)',
    labelNames: ['tag', 'outcome'],
    registers: [registry],
  });
  new Gauge({
    name: 'moodstream_ingester_budget_requests_left',
    help: 'Whole requests the token buckets allow right now, per window (minute, hour, day)',
    labelNames: ['window'],
    registers: [registry],
    collect() {
      const snapshot = budget()?.snapshot();
      if (snapshot === undefined) return;
      this.set({ window: 'minute' }, snapshot.left.perMinute);
      this.set({ window: 'hour' }, snapshot.left.perHour);
      this.set({ window: 'day' }, snapshot.left.perDay);
    },
  });
  new Gauge({
    name: 'moodstream_ingester_budget_requests_used',
    help: 'Requests taken from the budget since this process started',
    registers: [registry],
    collect() {
      const snapshot = budget()?.snapshot();
      if (snapshot !== undefined) this.set(snapshot.used);
    },
  });
  const posts = new Counter({
    name: 'moodstream_ingester_posts_produced_total',
    help: 'Posts produced to the posts topic, by the tag they were found under and source (live, backfill, archive)',
    labelNames: ['tag', 'source'],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'moodstream_ingester_duplicates_dropped_total',
    help: 'Posts not produced because their id was already produced (found under another tag, or re-read)',
    labelNames: ['tag'],
    registers: [registry],
  });
  const skipped = new Counter({
    name: 'moodstream_ingester_posts_skipped_total',
    help: 'Posts dropped, by reason (missing-id, bad-timestamp, too-few-english-words, …)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const cleaned = new Counter({
    name: 'moodstream_ingester_posts_cleaned_total',
    help: 'Posts kept after repair, by what was repaired (markup-removed, invalid-utf8, text-truncated, tags-dropped)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'moodstream_ingester_errors_total',
    help: 'Errors by kind (rate-limited, server, network, response-*, produce, store)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const cursorAge = new Gauge({
    name: 'moodstream_ingester_cursor_newest_timestamp_seconds',
    help: 'Newest post timestamp fully read, per tag (live mode)',
    labelNames: ['tag'],
    registers: [registry],
  });
  return { requests, posts, duplicates, skipped, cleaned, errors, cursorAge };
}

export type IngesterMetrics = ReturnType<typeof createIngesterMetrics>;
