import { Counter, Gauge, type Registry } from 'prom-client';
import type { SocketRefusal } from './server/socket-hub';

/**
 * The dashboard's own metrics, registered in the process's registry (`runtime.registry`) under the same names in
 * every host (its own process or `npm start`). The trends metrics come from the trends host, not from here.
 */
export interface DashboardMetrics {
  readonly sockets: Gauge;
  readonly pushes: Counter<'event'>;
  readonly requests: Counter<'route' | 'status'>;
  /** Requests refused to protect the instance or its write actions, by reason. */
  readonly refused: Counter<'reason'>;
}

/** Why the dashboard refused a request (the `reason` label of moodstream_dashboard_refused_total). */
export type RefusalReason = 'unauthorized' | 'not_loopback' | 'cross_site' | 'rate_limited' | 'replays' | 'body_too_large' | 'uri_too_long' | SocketRefusal;

export function createDashboardMetrics(registry: Registry): DashboardMetrics {
  return {
    sockets: new Gauge({ name: 'moodstream_dashboard_socket_connections', help: 'Browsers connected over socket.io to this instance', registers: [registry] }),
    pushes: new Counter({
      name: 'moodstream_dashboard_pushes_total',
      help: 'Live events sent to browsers, by event (series counted after coalescing)',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    refused: new Counter({
      name: 'moodstream_dashboard_refused_total',
      help: 'Requests refused: write actions without the credential or from another site, over the rate or replay limits, bodies or URLs too large',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    requests: new Counter({ name: 'moodstream_dashboard_http_requests_total', help: 'HTTP requests by route class and status', labelNames: ['route', 'status'] as const, registers: [registry] }),
  };
}

/** Route classes, not raw paths: a label per URL would grow without bound. */
export function routeClass(path: string): string {
  if (path === '/healthz' || path === '/metrics' || path === '/ui-config.json') return path;
  if (path === '/api' || path.startsWith('/api/')) return `/api/${path.split('/')[2] ?? ''}`;
  if (path.startsWith('/_next/')) return '/_next';
  return 'page';
}
