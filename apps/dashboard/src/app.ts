import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Redis } from 'ioredis';
import next from 'next';
import { UI_CONFIG_PATH, type UiConfig } from '@moodstream/events';
import {
  AccessRefusedError,
  addOpsRoutes,
  createOperatorAccess,
  createRateLimiter,
  createRouter,
  MoodstreamError,
  sendError,
  sendJson,
  sleep,
  systemClock,
  type Clock,
  type Logger,
  type OpsSource,
  type PartHealth,
  type RouteHandler,
  type Router,
  type ServicePart,
} from '@moodstream/core';
import { createTrendsHttpHandler, type TrendsService } from '@moodstream/trends';
import { createLiveEventRoutes, type LiveEventOptions } from './server/live-event';
import { addModelRoutes } from './routes/model-routes';
import type { DashboardConfig } from './config';
import { createDashboardMetrics, routeClass, type DashboardMetrics, type RefusalReason } from './metrics';
import { DASHBOARD_DIR, ensureNextBuild } from './server/next-build';
import { attachSocketHub, type SocketHub } from './server/socket-hub';
import type { TrendsEventSource, TrendsHttpHandler } from './trends-port';

interface DashboardAppBaseOptions {
  config: DashboardConfig;
  logger: Logger;
  /**
   * The process's ops source, usually its runtime (`ops: runtime`): served at /healthz and /metrics on the web port,
   * and the registry the dashboard's own metrics go in.
   */
  ops: OpsSource;
  /** Given in the distributed mode: socket.io's Redis adapter shares live updates across dashboard instances. */
  redis?: Redis;
  /** Next.js development mode (compiles on demand, hot reload); default: the production build, built if stale. */
  dev?: boolean;
  /** Progress lines for a person watching start-up (the `next build` step); default: the logger. */
  onProgress?: (line: string) => void;
  clock?: Clock;
  /**
   * How a request's client address is read for the write rules (default: the socket's peer). Tests substitute one
   * to play a client on another machine without sending traffic anywhere but loopback.
   */
  peerAddress?: (req: IncomingMessage) => string | undefined;
  /** Watched topics, moments and per-topic alert rules (server/live-event.ts); default: in memory. */
  liveEvent?: LiveEventOptions;
}

/**
 * `trends` is the trends service: its events are pushed to browsers and its HTTP handler answers /api. A test may
 * instead pass any event source together with its own `api` handler.
 */
export type DashboardAppOptions = DashboardAppBaseOptions &
  ({ trends: TrendsService; api?: TrendsHttpHandler } | { trends: TrendsEventSource; api: TrendsHttpHandler });

export interface DashboardAddress {
  url: string;
  port: number;
}

/** A service part (`runtime.start('dashboard', app)`): the web server, socket.io and the Next.js views. */
export interface DashboardApp extends ServicePart {
  start(): Promise<DashboardAddress>;
  /** Ok while listening; the detail counts connected browsers. */
  health(): PartHealth;
  /** Where it listens once started. */
  address(): DashboardAddress | null;
}

/** Served by this server, not the trends API: settings the prebuilt page learns at run time. */

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

function publicUrl(host: string, port: number): string {
  const local = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' || host === '::1' || host === 'localhost';
  return `http://${local ? 'localhost' : host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Longest request target (path and query) answered; no route needs more. Longer: 414 URI_TOO_LONG. */
export const MAX_REQUEST_TARGET_BYTES = 8 * 1024;

/** A raw HTTP/1.1 answer for a connection the parser gave up on (no request object exists), then closed. */
function rawAnswer(status: string, body?: { error: { code: string; message: string } }): string {
  const json = body === undefined ? '' : JSON.stringify(body);
  const type = body === undefined ? '' : 'Content-Type: application/json; charset=utf-8\r\n';
  return `HTTP/1.1 ${status}\r\n${type}Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`;
}

/**
 * Node's parser refuses a request whose head is over its 16 KB limit before any handler sees it (a 431 by default).
 * When the request line alone is that long — a huge query string — the answer is 414 URI_TOO_LONG, as for any target
 * over MAX_REQUEST_TARGET_BYTES; other parse errors keep Node's answers (431, 400).
 */
function answerClientError(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex, onUriTooLong: () => void): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const lineEnd = error.rawPacket?.indexOf('\r\n') ?? -1;
    if (error.rawPacket !== undefined && (lineEnd === -1 || lineEnd > MAX_REQUEST_TARGET_BYTES)) {
      onUriTooLong();
      socket.end(rawAnswer('414 URI Too Long', { error: { code: 'URI_TOO_LONG', message: `the request target is over ${MAX_REQUEST_TARGET_BYTES} bytes` } }));
      return;
    }
    socket.end(rawAnswer('431 Request Header Fields Too Large'));
    return;
  }
  socket.end(rawAnswer('400 Bad Request'));
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

/**
 * The server's own routes on the core router: the ops routes, the page's run-time settings and the trends API under
 * /api (every path there is the router's: an unknown one is a JSON 404, never a Next.js page). Anything else it
 * does not claim falls through to Next.js.
 */
function createDashboardRouter(options: {
  config: DashboardConfig;
  logger: Logger;
  ops: OpsSource;
  api: TrendsHttpHandler;
  clock: Clock;
  refuse: (reason: RefusalReason) => void;
  peerAddress: (req: IncomingMessage) => string | undefined;
  liveEvent: Router;
}): Router {
  const router = createRouter({ logger: options.logger, what: 'dashboard request', owns: isApiPath });
  addOpsRoutes(router, options.ops);
  addModelRoutes(router, { logger: options.logger });
  const uiConfig: UiConfig = { explicitThreshold: options.config.DASHBOARD_EXPLICIT_THRESHOLD };
  router.get(UI_CONFIG_PATH, ({ res }) => sendJson(res, 200, uiConfig));
  const toApi: RouteHandler = async ({ req, res, url }) => {
    if (await options.liveEvent.handle(req, res)) return;
    if (!(await options.api(req, res)) && !res.headersSent) throw new MoodstreamError('NOT_FOUND', `no API route ${req.method ?? 'GET'} ${url.pathname}`);
  };
  const { refuse, config, logger } = options;
  // Write actions (every POST/DELETE under /api): per-address rate first (it also slows guessing the token), then the
  // credential. Answers carry their own headers (Retry-After, WWW-Authenticate), so they are sent here, not thrown.
  const writeRate = createRateLimiter({ perMinute: config.DASHBOARD_WRITE_RATE_PER_MINUTE, clock: options.clock });
  const access = createOperatorAccess({ token: config.DASHBOARD_OPERATOR_TOKEN });
  const mayWrite = (req: IncomingMessage, res: ServerResponse): boolean => {
    const peer = options.peerAddress(req);
    const rate = writeRate.take(peer ?? 'unknown');
    if (!rate.allowed) {
      refuse('rate_limited');
      const message = `too many write actions from this address (at most ${config.DASHBOARD_WRITE_RATE_PER_MINUTE} a minute): try again in ${rate.retryAfterSeconds} s`;
      sendError(res, new MoodstreamError('TOO_MANY_REQUESTS', message), { logger, headers: { 'retry-after': String(rate.retryAfterSeconds) } });
      return false;
    }
    try {
      access.check(req, peer);
      return true;
    } catch (error) {
      if (!(error instanceof AccessRefusedError)) throw error;
      refuse(error.reason);
      sendError(res, error, { logger, ...(error.reason === 'unauthorized' ? { headers: { 'www-authenticate': 'Bearer realm="moodstream"' } } : {}) });
      return false;
    }
  };
  const toWrite: RouteHandler = async (context) => {
    if (!mayWrite(context.req, context.res)) return;
    await toApi(context);
    // Refused inside the trends API: the replay limit (429) or the body cap (413).
    if (context.res.statusCode === 429) refuse('replays');
    if (context.res.statusCode === 413) refuse('body_too_large');
  };
  for (const path of ['/api', '/api/*']) router.get(path, toApi).post(path, toWrite).delete(path, toWrite);
  return router;
}

/**
 * The dashboard server: one Node HTTP server answering its own routes (/healthz, /metrics, /ui-config.json, the
 * trends API under /api) through one router, socket.io live updates, and the Next.js views for everything else.
 * No I/O until start().
 */
export function createDashboardApp(options: DashboardAppOptions): DashboardApp {
  const { config, logger } = options;
  const dev = options.dev ?? config.DASHBOARD_DEV;
  const clock = options.clock ?? systemClock;
  const progress = options.onProgress ?? ((line: string) => logger.info(line));
  const api: TrendsHttpHandler =
    options.api ??
    createTrendsHttpHandler(options.trends as TrendsService, {
      logger,
      maxConcurrentReplays: config.TRENDS_MAX_CONCURRENT_REPLAYS,
      maxConcurrentReplaysTotal: config.TRENDS_MAX_CONCURRENT_REPLAYS_TOTAL,
    });
  const metrics: DashboardMetrics = createDashboardMetrics(options.ops.registry);
  const refuse = (reason: RefusalReason): void => metrics.refused.inc({ reason });
  const peerAddress = options.peerAddress ?? ((req: IncomingMessage) => req.socket.remoteAddress);
  let hub: SocketHub | null = null;
  const liveEvent = createLiveEventRoutes({
    options: options.liveEvent,
    trends: options.trends,
    operatorToken: config.DASHBOARD_OPERATOR_TOKEN !== undefined,
    peerAddress,
    clock,
    logger,
    onMoment: (update) => hub?.io.emit('moment', update),
  });
  const router = createDashboardRouter({ config, logger, ops: options.ops, api, clock, refuse, peerAddress, liveEvent });
  let server: Server | null = null;
  let nextApp: ReturnType<typeof next> | null = null;
  let address: DashboardAddress | null = null;
  let stopping: Promise<void> | null = null;

  const serve = async (req: IncomingMessage, res: ServerResponse, nextHandler: (req: IncomingMessage, res: ServerResponse) => Promise<void>) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (!dev) res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    res.once('finish', () => metrics.requests.inc({ route: routeClass(path), status: String(res.statusCode) }));
    if ((req.url ?? '').length > MAX_REQUEST_TARGET_BYTES) {
      refuse('uri_too_long');
      sendError(res, new MoodstreamError('URI_TOO_LONG', `the request target is over ${MAX_REQUEST_TARGET_BYTES} bytes`), { logger });
      return;
    }
    if (await router.handle(req, res)) return;
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
        // The router answers its own routes' errors; this catches Next.js failing to render a page.
        serve(req, res, nextHandler).catch((error: unknown) => sendError(res, error, { logger, what: `dashboard request ${req.url ?? ''}` }));
      });
      http.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, () => refuse('uri_too_long')));
      http.on('upgrade', (req: IncomingMessage, socket, head) => {
        if ((req.url ?? '').startsWith('/_next/')) nextUpgrades.emit('upgrade', req, socket, head);
      });
      hub = attachSocketHub({
        httpServer: http,
        trends: options.trends,
        logger,
        clock,
        pushIntervalMs: config.DASHBOARD_PUSH_INTERVAL_MS,
        redis: options.redis,
        channel: config.DASHBOARD_SOCKET_CHANNEL,
        metrics,
      });
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.PORT, config.HOST, () => {
          http.off('error', reject);
          resolve();
        });
      });
      server = http;
      const port = (http.address() as AddressInfo).port;
      address = { url: publicUrl(config.HOST, port), port };
      logger.info({ url: address.url, dev }, 'dashboard listening');
      return address;
    },

    health() {
      return { ok: address !== null && stopping === null, detail: { connections: hub?.connections() ?? 0 } };
    },

    address: () => address,

    stop() {
      stopping ??= (async () => {
        await hub?.close();
        const http = server;
        if (http !== null) {
          // Browsers keep connections open; idle ones go now, busy ones once their response ends or after 2 s.
          const closed = new AbortController();
          void sleep(2_000, { clock, signal: closed.signal }).then((late) => late && http.closeAllConnections());
          await new Promise<void>((resolve) => {
            http.close(() => resolve());
            http.closeIdleConnections();
          });
          closed.abort();
        }
        await nextApp?.close();
      })();
      return stopping;
    },
  };
}
