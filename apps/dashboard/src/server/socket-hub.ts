import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createRateLimiter, reportOutages, sleep, type Clock, type Logger } from '@moodstream/core';
import type { Alert, ModelVersionChange } from '@moodstream/events';
import type { ClientToServerEvents, ReplayStatus, SeriesUpdate, ServerToClientEvents, TopicSummary } from '@moodstream/trends';
import type { DashboardMetrics } from '../metrics';
import type { TrendsEventSource } from '../trends-port';
import { PushCoalescer } from './push-coalescer';
import { WatchSelectionSchema, replayRoom, seriesRoom } from './rooms';

interface SocketData {
  rooms: string[];
}

export type DashboardIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

/**
 * What one stranger may cost the hub. A browser tab holds one connection and sends a `watch` when the chart's
 * selection changes; these bounds are far above that and far below what exhausts memory or the event loop.
 */
export interface SocketLimits {
  /** Connections at once on this instance; one more is refused at the handshake (HTTP 403). */
  maxConnections: number;
  /** Connections at once from one address. */
  maxConnectionsPerAddress: number;
  /** `watch` messages a connection may send per minute (a token bucket, this burst); more are ignored. */
  watchesPerMinute: number;
  /** Largest message a browser may send; a bigger one closes its connection (a `watch` is under 300 bytes). */
  maxMessageBytes: number;
}

export const DEFAULT_SOCKET_LIMITS: SocketLimits = { maxConnections: 5_000, maxConnectionsPerAddress: 50, watchesPerMinute: 120, maxMessageBytes: 16 * 1024 };

/** Why the hub refused something (the `reason` label of moodstream_dashboard_refused_total). */
export type SocketRefusal = 'socket_limit' | 'socket_address_limit' | 'watch_rate' | 'watch_malformed';

export interface SocketHub {
  readonly io: DashboardIo;
  connections(): number;
  close(): Promise<void>;
}

/**
 * socket.io on the dashboard's HTTP server, fed by the trends service's events. With `redis`, the Redis adapter
 * relays every room emit to the other dashboard instances, so a browser sees the updates any instance's
 * aggregator produced.
 */
export function attachSocketHub(options: {
  httpServer: HttpServer;
  trends: TrendsEventSource;
  logger: Logger;
  clock: Clock;
  pushIntervalMs: number;
  redis?: Redis;
  channel: string;
  metrics?: DashboardMetrics;
  limits?: Partial<SocketLimits>;
  /** The client's address (tests play other machines through this seam); the socket's peer by default. */
  peerAddress?: (req: IncomingMessage) => string | undefined;
}): SocketHub {
  const { logger } = options;
  const limits: SocketLimits = { ...DEFAULT_SOCKET_LIMITS, ...options.limits };
  const peerAddress = options.peerAddress ?? ((req: IncomingMessage) => req.socket.remoteAddress);
  const refuse = (reason: SocketRefusal): void => options.metrics?.refused.inc({ reason });
  // Connections per address, counted at the engine (every transport) from handshake to close.
  const perAddress = new Map<string, number>();
  let open = 0;
  const io: DashboardIo = new Server(options.httpServer, {
    serveClient: false,
    path: '/socket.io',
    maxHttpBufferSize: limits.maxMessageBytes,
    // Runs before a connection exists: a flood is turned away with a 403 instead of costing a socket each.
    allowRequest: (req, callback) => {
      const address = peerAddress(req) ?? 'unknown';
      if (open >= limits.maxConnections) {
        refuse('socket_limit');
        callback('too many live connections on this dashboard instance', false);
        return;
      }
      if ((perAddress.get(address) ?? 0) >= limits.maxConnectionsPerAddress) {
        refuse('socket_address_limit');
        callback('too many live connections from this address', false);
        return;
      }
      callback(null, true);
    },
  });
  io.engine.on('connection', (raw: { request: IncomingMessage; once(event: 'close', listener: () => void): void }) => {
    const address = peerAddress(raw.request) ?? 'unknown';
    open += 1;
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    raw.once('close', () => {
      open -= 1;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
  });
  const watchRate = createRateLimiter({ perMinute: limits.watchesPerMinute, clock: options.clock, maxKeys: limits.maxConnections * 2 });
  let pub: Redis | null = null;
  let sub: Redis | null = null;
  if (options.redis !== undefined) {
    pub = options.redis.duplicate();
    sub = options.redis.duplicate();
    // One line per outage and client (see reportOutages), not a stack trace per reconnect attempt.
    reportOutages(pub, logger, 'Redis (socket.io publisher)');
    reportOutages(sub, logger, 'Redis (socket.io subscriber)');
    io.adapter(createAdapter(pub, sub, { key: options.channel }));
  }

  const metrics = options.metrics;
  io.on('connection', (socket) => {
    metrics?.sockets.inc();
    socket.once('disconnect', () => metrics?.sockets.dec());
    socket.data.rooms = [];
    socket.on('watch', (selection: unknown) => {
      // A socket holds at most two rooms whatever it asks for (see below); the rate bounds the join/leave churn.
      if (!watchRate.take(socket.id).allowed) {
        refuse('watch_rate');
        return;
      }
      const parsed = WatchSelectionSchema.safeParse(selection);
      if (!parsed.success) {
        refuse('watch_malformed');
        logger.debug({ socket: socket.id }, 'ignoring a malformed watch message');
        return;
      }
      const next = [seriesRoom(parsed.data)];
      if (parsed.data.replay != null) next.push(replayRoom(parsed.data.replay));
      for (const room of socket.data.rooms) if (!next.includes(room)) void socket.leave(room);
      for (const room of next) void socket.join(room);
      socket.data.rooms = next;
    });
  });

  const coalescer = new PushCoalescer(options.clock, options.pushIntervalMs, (room, update) => {
    metrics?.pushes.inc({ event: 'series' });
    io.to(room).emit('series', update);
  });
  const onSeries = (update: SeriesUpdate) => coalescer.push(update);
  const onAlert = (alert: Alert) => {
    metrics?.pushes.inc({ event: 'alert' });
    if (alert.replayId !== null) io.to(replayRoom(alert.replayId)).emit('alert', alert);
    else io.emit('alert', alert);
  };
  const onReplay = (status: ReplayStatus) => {
    // A replay's last buckets go out before it reports itself done, so a finished chart is complete.
    if (status.state !== 'running') coalescer.flush();
    io.emit('replay', status);
  };
  const onTopics = (topics: TopicSummary[]) => io.emit('topics', topics);
  // Rare (a promotion) and small: every viewer gets it, the page keeps those of the topic it shows.
  const onModelVersion = (change: ModelVersionChange) => io.emit('modelVersion', change);
  options.trends.on('series', onSeries);
  options.trends.on('alert', onAlert);
  options.trends.on('replay', onReplay);
  options.trends.on('topics', onTopics);
  options.trends.on('modelVersion', onModelVersion);

  return {
    io,
    connections: () => io.engine.clientsCount,
    async close() {
      options.trends.off('series', onSeries);
      options.trends.off('alert', onAlert);
      options.trends.off('replay', onReplay);
      options.trends.off('topics', onTopics);
      options.trends.off('modelVersion', onModelVersion);
      coalescer.clear();
      // `local`: with the Redis adapter a bare disconnectSockets would drop the other instances' browsers too.
      io.local.disconnectSockets(true);
      // io.close() also closes the HTTP server; the caller owns that, so only the engine is shut here.
      io.engine.close();
      // The adapter subscribes as soon as it is created; quitting before that connection is ready would
      // reject its pending SUBSCRIBE ("Connection is closed") outside any caller's reach.
      await Promise.all([pub, sub].map((client) => (client === null ? undefined : untilSettled(client, 2_000, options.clock))));
      await Promise.all([pub, sub].map((client) => (client === null ? undefined : client.quit().catch(() => client.disconnect()))));
    },
  };
}

/** Resolves once a Redis client is ready or ended, or after `ms`, whichever comes first. */
async function untilSettled(client: Redis, ms: number, clock: Clock): Promise<void> {
  if (client.status === 'ready' || client.status === 'end' || client.status === 'close') return;
  const settled = new AbortController();
  const done = (): void => settled.abort();
  client.once('ready', done);
  client.once('end', done);
  await sleep(ms, { clock, signal: settled.signal });
  client.off('ready', done);
  client.off('end', done);
}
