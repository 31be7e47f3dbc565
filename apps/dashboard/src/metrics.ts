import { Counter, Gauge, type Registry } from 'prom-client';
import { createMetricsRegistry } from '@moodstream/core';
import type { TrendsMetricsHooks } from '@moodstream/trends';

/** Prometheus metrics of a dashboard process, served at /metrics when the factory is given them. */
export interface DashboardMetrics {
  readonly registry: Registry;
  readonly sockets: Gauge;
  readonly pushes: Counter<'event'>;
  readonly requests: Counter<'route' | 'status'>;
  /** Hooks for the in-process trends service (the standalone main wires them). */
  readonly trends: TrendsMetricsHooks;
}

export function createDashboardMetrics(registry: Registry = createMetricsRegistry('dashboard')): DashboardMetrics {
  const sockets = new Gauge({ name: 'dashboard_socket_connections', help: 'Browsers connected over socket.io to this instance', registers: [registry] });
  const pushes = new Counter({ name: 'dashboard_pushes_total', help: 'Live events sent to browsers, by event (series counted after coalescing)', labelNames: ['event'], registers: [registry] });
  const requests = new Counter({ name: 'dashboard_http_requests_total', help: 'HTTP requests by route class and status', labelNames: ['route', 'status'], registers: [registry] });
  const ingested = new Counter({ name: 'trends_posts_total', help: 'Scored posts through the aggregator, by outcome', labelNames: ['outcome'], registers: [registry] });
  const batchSeconds = new Counter({ name: 'trends_batch_seconds_total', help: 'Time spent aggregating batches', registers: [registry] });
  const alerts = new Counter({ name: 'trends_alerts_total', help: 'Live spike alerts fired', labelNames: ['emotion'], registers: [registry] });
  const deadLetters = new Counter({ name: 'trends_dead_letters_total', help: 'Scored-post records sent to the dead-letter topic', registers: [registry] });
  const webhooks = new Counter({ name: 'trends_webhook_deliveries_total', help: 'Alert webhook outcomes', labelNames: ['outcome'], registers: [registry] });
  return {
    registry,
    sockets,
    pushes,
    requests,
    trends: {
      onBatch: (result, durationMs) => {
        ingested.inc({ outcome: 'added' }, result.added);
        ingested.inc({ outcome: 'duplicate' }, result.duplicates);
        ingested.inc({ outcome: 'late' }, result.late);
        batchSeconds.inc(durationMs / 1000);
      },
      onAlert: (alert) => alerts.inc({ emotion: alert.emotion }),
      onDeadLetter: () => deadLetters.inc(),
      onWebhook: (outcome) => webhooks.inc({ outcome }),
    },
  };
}

/** Route classes, not raw paths: a label per URL would grow without bound. */
export function routeClass(path: string): string {
  if (path === '/healthz' || path === '/metrics' || path === '/ui-config.json') return path;
  if (path === '/api' || path.startsWith('/api/')) return `/api/${path.split('/')[2] ?? ''}`;
  if (path.startsWith('/_next/')) return '/_next';
  return 'page';
}
