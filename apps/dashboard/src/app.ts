import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import next from 'next';
import { systemClock, type Clock, type Logger } from '@moodstream/core';
import { createTrendsHttpHandler, type ApiError, type TrendsService } from '@moodstream/trends';
import type { DashboardConfig } from './config';
import { routeClass, type DashboardMetrics } from './metrics';
import { DASHBOARD_DIR, ensureNextBuild } from './server/next-build';
import { attachSocketHub, type SocketHub } from './server/socket-hub';
import type { TrendsEventSource, TrendsHttpHandler } from './trends-port';

interface DashboardAppBaseOptions {
  config: DashboardConfig;
  logger: Logger;
  /** Given in the distributed mode: socket.io's Redis adapter shares live updates across dashboard instances. */
  redis?: Redis;
  /** Next.js development mode (compiles on demand, hot reload); default: the production build, built if stale. */
  dev?: boolean;
  /** Progress lines for a person watching start-up (the `next build` step); default: the logger. */
  onProgress?: (line: string) => void;
  /** When given, served at /metrics and kept current. */
  metrics?: DashboardMetrics;
  clock?: Clock;
}

/**
 * `trends` is the trends service: its events are pushed to browsers and its HTTP handler answers /api. A test may
 * instead pass any event source together with its own `api` handler.
 */
export type DashboardAppOptions = DashboardAppBaseOptions &
  ({ trends: TrendsService; api?: TrendsHttpHandler } | { trends: TrendsEventSource; api: TrendsHttpHandler });

export interface DashboardApp {
  start(): Promise<{ url: string; port: number }>;
  stop(): Promise<void>;
}

/** Served by this server, not the trends API: settings the prebuilt page learns at run time. */
const UI_CONFIG_PATH = '/ui-config.json';

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Production pages: scripts and styles only from this origin (Next.js and recharts need inline ones), thumbnails from
 * anywhere over http(s), live updates only to this origin, no plugins, no framing. Development mode needs eval for hot
 * reload, so it goes without.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: http: https:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function apiError(code: string, message: string): ApiError {
  return { error: { code, message } };
}

function publicUrl(host: string, port: number): string {
  const local = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' || host === '::1' || host === 'localhost';
  return `http://${local ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * The dashboard server: one Node HTTP server answering /healthz, the trends API under /api, socket.io live
 * updates, and the Next.js views for everything else. No I/O until start().
 */
export function createDashboardApp(options: DashboardAppOptions): DashboardApp {
  const { config, logger } = options;
  const dev = options.dev ?? config.DASHBOARD_DEV;
  const progress = options.onProgress ?? ((line: string) => logger.info(line));
  const api: TrendsHttpHandler = options.api ?? createTrendsHttpHandler(options.trends as TrendsService, { logger });
  let server: Server | null = null;
  let hub: SocketHub | null = null;
  let nextApp: ReturnType<typeof next> | null = null;
  let ready = false;
  let stopping: Promise<void> | null = null;

  const trendsHealthy = (): boolean => {
    const healthy = (options.trends as Partial<TrendsService>).healthy;
    return typeof healthy === 'function' ? healthy.call(options.trends) : true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, nextHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (!dev) res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const metrics = options.metrics;
    if (metrics !== undefined) res.once('finish', () => metrics.requests.inc({ route: routeClass(path), status: String(res.statusCode) }));
    if (path === '/healthz') {
      const trendsOk = trendsHealthy();
      sendJson(res, ready && trendsOk ? 200 : 503, { ok: ready && trendsOk, trends: trendsOk, connections: hub?.connections() ?? 0 });
      return;
    }
    if (path === '/metrics' && metrics !== undefined) {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (path === UI_CONFIG_PATH) {
      sendJson(res, 200, { explicitThreshold: config.DASHBOARD_EXPLICIT_THRESHOLD });
      return;
    }
    if (path === '/api' || path.startsWith('/api/')) {
      if (!(await api(req, res)) && !res.headersSent) sendJson(res, 404, apiError('NOT_FOUND', `no API route ${req.method ?? 'GET'} ${path}`));
      return;
    }
    await nextHandler(req, res);
  };

  return {
    async start() {
      if (server !== null) throw new Error('dashboard already started');
      if (!dev) await ensureNextBuild({ onProgress: progress });

      // Next.js hooks 'upgrade' on whatever server it is given; give it a private emitter and forward only its own
      // paths (dev hot reload), so socket.io's upgrades never pass through Next.
      const nextUpgrades = new EventEmitter();
      nextApp = next({ dev, dir: DASHBOARD_DIR, hostname: config.HOST, port: config.PORT, httpServer: nextUpgrades as unknown as Server, quiet: !dev });
      await nextApp.prepare();
      const nextHandler = nextApp.getRequestHandler();

      const http = createServer((req, res) => {
        handle(req, res, nextHandler).catch((error: unknown) => {
          logger.error({ err: error, url: req.url }, 'dashboard request failed');
          if (!res.headersSent) sendJson(res, 500, apiError('INTERNAL', 'the dashboard failed to answer; see its log'));
          else res.destroy();
        });
      });
      http.on('upgrade', (req: IncomingMessage, socket, head) => {
        if ((req.url ?? '').startsWith('/_next/')) nextUpgrades.emit('upgrade', req, socket, head);
      });
      hub = attachSocketHub({
        httpServer: http,
        trends: options.trends,
        logger,
        clock: options.clock ?? systemClock,
        pushIntervalMs: config.DASHBOARD_PUSH_INTERVAL_MS,
        redis: options.redis,
        channel: config.DASHBOARD_SOCKET_CHANNEL,
        metrics: options.metrics,
      });
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.PORT, config.HOST, () => {
          http.off('error', reject);
          resolve();
        });
      });
      server = http;
      ready = true;
      const port = (http.address() as AddressInfo).port;
      const url = publicUrl(config.HOST, port);
      logger.info({ url, dev }, 'dashboard listening');
      return { url, port };
    },

    stop() {
      stopping ??= (async () => {
        ready = false;
        await hub?.close();
        const http = server;
        if (http !== null) {
          await new Promise<void>((resolve) => {
            http.close(() => resolve());
            // Browsers keep connections open; idle ones go now, busy ones once their response ends.
            http.closeIdleConnections();
            setTimeout(() => http.closeAllConnections(), 2_000).unref();
          });
        }
        await nextApp?.close();
      })();
      return stopping;
    },
  };
}
