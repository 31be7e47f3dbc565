/**
 * Hostile input catalogue, live updates (docs/hostile-inputs.md): a flood of socket.io connections and of `watch`
 * messages for rooms nobody publishes to. The hub bounds connections per instance and per address at the handshake,
 * the watch rate per connection and the size of any message; every refusal is counted in
 * moodstream_dashboard_refused_total{reason}, and the browsers already connected keep their live updates.
 * Real sockets on loopback; "other machines" are played through the hub's peerAddress seam.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { io as connect, type Socket } from 'socket.io-client';
import { createLogger, VirtualClock } from '@moodstream/core';
import type { ClientToServerEvents, SeriesUpdate, ServerToClientEvents } from '@moodstream/trends';
import { createDashboardMetrics } from '../../apps/dashboard/src/metrics';
import { attachSocketHub, type SocketHub } from '../../apps/dashboard/src/server/socket-hub';
import { FakeTrends, makePoint } from '../../apps/dashboard/test/support/fake-trends';

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;
const MIN = 60_000;
const LIMITS = { maxConnections: 30, maxConnectionsPerAddress: 10, watchesPerMinute: 20, maxMessageBytes: 4 * 1024 };

let server: Server;
let hub: SocketHub;
let url: string;
const clock = new VirtualClock(0);
const fake = new FakeTrends();
const registry = new Registry();
const metrics = createDashboardMetrics(registry);
const clients: Client[] = [];

before(async () => {
  server = createServer();
  hub = attachSocketHub({
    httpServer: server,
    trends: fake,
    logger: createLogger('hostile-sockets', { level: 'silent' }),
    clock,
    pushIntervalMs: 0,
    channel: 'unused',
    metrics,
    limits: LIMITS,
    // The test says which machine it is in a header; a real deployment reads the socket's peer.
    peerAddress: (req: IncomingMessage) => String(req.headers['x-test-peer'] ?? req.socket.remoteAddress),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const c of clients) c.close();
  await hub.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function refused(reason: string): Promise<number> {
  const metric = (await registry.getSingleMetric('moodstream_dashboard_refused_total')?.get())?.values ?? [];
  return metric.find((v) => v.labels['reason'] === reason)?.value ?? 0;
}

/** Opens a connection as `peer`; resolves to the socket, or to the handshake's refusal. */
async function open(peer: string, transport: 'websocket' | 'polling' = 'polling'): Promise<Client | Error> {
  const socket: Client = connect(url, { transports: [transport], forceNew: true, reconnection: false, extraHeaders: { 'x-test-peer': peer } });
  clients.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => resolve(error));
  });
}

const settle = (ms = 100) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await settle(10);
  }
}

describe('socket.io floods', () => {
  it('one address opening 40 connections gets 10; the rest are refused at the handshake and counted', async () => {
    const results = await Promise.all(Array.from({ length: 40 }, () => open('198.51.100.7')));
    const accepted = results.filter((r) => !(r instanceof Error));
    assert.equal(accepted.length, LIMITS.maxConnectionsPerAddress);
    assert.equal(await refused('socket_address_limit'), 30);
    // Another machine is not punished for it.
    assert.ok(!((await open('198.51.100.8')) instanceof Error));
    for (const socket of accepted) (socket as Client).close();
    await until(() => hub.connections() === 1, 'the closed connections to be forgotten');
    // Closed connections give their places back.
    assert.ok(!((await open('198.51.100.7')) instanceof Error));
  });

  it('many addresses together hit the instance cap; connected browsers keep receiving their chart', async () => {
    const watcher = await open('192.0.2.1', 'websocket');
    assert.ok(!(watcher instanceof Error));
    const seen: SeriesUpdate[] = [];
    watcher.on('series', (update) => seen.push(update));
    watcher.emit('watch', { topic: 'cats', window: '1m' });
    await settle();
    const before = hub.connections();
    const flood = await Promise.all(Array.from({ length: 60 }, (_, i) => open(`203.0.113.${i}`)));
    assert.equal(hub.connections(), LIMITS.maxConnections);
    assert.equal(flood.filter((r) => r instanceof Error).length, 60 - (LIMITS.maxConnections - before));
    assert.ok((await refused('socket_limit')) > 0);
    fake.putPoint('cats', '1m', makePoint(MIN, 7, {}));
    await until(() => seen.length === 1, 'the watched update');
    assert.equal(seen[0]?.point.count, 7);
    for (const socket of flood) if (!(socket instanceof Error)) socket.close();
    await until(() => hub.connections() <= before, 'the flood to close');
  });

  it('a flood of watches for unknown rooms: rate-limited and counted, at most two rooms held, the last allowed one served', async () => {
    const socket = await open('192.0.2.50', 'websocket');
    assert.ok(!(socket instanceof Error));
    const seen: SeriesUpdate[] = [];
    socket.on('series', (update) => seen.push(update));
    for (let i = 0; i < 2_000; i++) {
      socket.emit('watch', { topic: `nobody-publishes-${i}`, window: '1m', replay: `r${i}` });
      if (i % 50 === 49) await settle(1);
    }
    await until(() => hub.io.of('/').sockets.size > 0 && socket.connected, 'the socket to stay connected');
    await settle(300);
    const rooms = [...(hub.io.of('/').adapter.rooms.keys())].filter((room) => room.includes('nobody-publishes'));
    assert.ok(rooms.length <= 1, `${rooms.length} unknown series rooms held`);
    assert.ok((await refused('watch_rate')) >= 2_000 - LIMITS.watchesPerMinute);
    // Malformed ones are counted too, once the bucket has refilled (virtual time).
    clock.advance(MIN);
    socket.emit('watch', { topic: 'x'.repeat(500), window: '1m' });
    socket.emit('watch', { topic: 'cats', window: '1m', admin: true } as never);
    await settle();
    assert.equal(await refused('watch_malformed'), 2);
    socket.emit('watch', { topic: 'dogs', window: '1m' });
    await settle();
    fake.putPoint('dogs', '1m', makePoint(MIN, 3, {}));
    await until(() => seen.some((u) => u.topic === 'dogs'), 'the dogs update after the flood');
  });

  it('a message over the size cap closes only that connection', async () => {
    const big = await open('192.0.2.60', 'websocket');
    const bystander = await open('192.0.2.61', 'websocket');
    assert.ok(!(big instanceof Error) && !(bystander instanceof Error));
    big.emit('watch', { topic: 'x'.repeat(64 * 1024), window: '1m' });
    await until(() => !big.connected, 'the oversized sender to be disconnected');
    assert.equal(bystander.connected, true);
  });
});
