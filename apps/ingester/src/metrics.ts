import { Counter, Gauge, type Registry } from 'prom-client';
import type { RequestBudget } from '@moodstream/tumblr';

/** Every ingester metric is `moodstream_ingester_<what>`, whichever process hosts the ingester. */
const metricName = (what: string): string => `moodstream_ingester_${what}`;

/** Everything the issue asks /metrics to show, registered on the process's registry. */
export function createIngesterMetrics(registry: Registry, budget: () => RequestBudget | null) {
  const counter = <L extends string>(what: string, help: string, labelNames: readonly L[]): Counter<L> =>
    new Counter({ name: metricName(what), help, labelNames, registers: [registry] });

  const requests = counter('tumblr_requests_total', 'Tumblr API requests made, by tag and outcome (ok, rate-limited, server, auth, …)', ['tag', 'outcome']);
  new Gauge({
    name: metricName('budget_requests_left'),
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
    name: metricName('budget_requests_used'),
    help: 'Requests taken from the budget since this process started',
    registers: [registry],
    collect() {
      const snapshot = budget()?.snapshot();
      if (snapshot !== undefined) this.set(snapshot.used);
    },
  });
  const posts = counter('posts_produced_total', 'Posts produced to the posts topic, by the tag they were found under and source (live, backfill, archive)', ['tag', 'source']);
  const duplicates = counter('duplicates_dropped_total', 'Posts not produced because their id was already produced (found under another tag, or re-read)', ['tag']);
  const skipped = counter('posts_skipped_total', 'Posts dropped, by reason (missing-id, bad-timestamp, too-few-english-words, …)', ['reason']);
  const cleaned = counter('posts_cleaned_total', 'Posts kept after repair, by what was repaired (markup-removed, invalid-utf8, text-truncated, tags-dropped)', ['reason']);
  const errors = counter('errors_total', 'Errors by kind (rate-limited, server, network, response-*, produce, store, pipeline)', ['kind']);
  const cursorAge = new Gauge({
    name: metricName('cursor_newest_timestamp_seconds'),
    help: 'Newest post timestamp fully read, per tag (live mode)',
    labelNames: ['tag'],
    registers: [registry],
  });
  return { requests, posts, duplicates, skipped, cleaned, errors, cursorAge };
}

export type IngesterMetrics = ReturnType<typeof createIngesterMetrics>;
