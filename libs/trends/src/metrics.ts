import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TrendsMetricsHooks, TrendsService } from './service';

/** The trends service's Prometheus metrics, named the same in every host process (createTrendsHost registers them); returns the hooks to pass to createTrendsService. */
export function createTrendsMetrics(registry: Registry, service: () => TrendsService | null): TrendsMetricsHooks {
  const events = new Counter({
    name: 'moodstream_trends_events_total',
    help: 'Post × topic increments by outcome: added (new), duplicate (redelivered, ignored), late (beyond the allowed lateness, dropped)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'moodstream_trends_batch_seconds',
    help: 'Time to aggregate one consumer batch into the store',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const alerts = new Counter({ name: 'moodstream_trends_alerts_total', help: 'Live spike alerts fired', labelNames: ['emotion'] as const, registers: [registry] });
  const deadLetters = new Counter({ name: 'moodstream_trends_dead_letters_total', help: 'Invalid ScoredPost records sent to the dead-letter topic', registers: [registry] });
  const webhook = new Counter({ name: 'moodstream_trends_webhook_total', help: 'Alert webhook deliveries by outcome', labelNames: ['outcome'] as const, registers: [registry] });
  new Gauge({
    name: 'moodstream_trends_watermark_seconds',
    help: 'Event-time watermark of live aggregation (epoch seconds)',
    registers: [registry],
    collect() {
      const watermark = service()?.watermark();
      if (watermark !== null && watermark !== undefined) this.set(watermark / 1000);
    },
  });
  new Gauge({
    name: 'moodstream_trends_consumer_lag',
    help: 'ScoredPost records not yet consumed by the aggregator group',
    registers: [registry],
    async collect() {
      const svc = service();
      if (svc !== null) this.set(await svc.consumerLag().catch(() => -1));
    },
  });
  return {
    onBatch(result, durationMs) {
      events.inc({ outcome: 'added' }, result.added);
      events.inc({ outcome: 'duplicate' }, result.duplicates);
      events.inc({ outcome: 'late' }, result.late);
      batchSeconds.observe(durationMs / 1000);
    },
    onAlert: (alert) => alerts.inc({ emotion: alert.emotion }),
    onDeadLetter: () => deadLetters.inc(),
    onWebhook: (outcome) => webhook.inc({ outcome }),
  };
}
