import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { io as connect, type Socket } from 'socket.io-client';
import { createLogger, systemClock } from '@moodstream/core';
import type { Alert } from '@moodstream/events';
import type { ClientToServerEvents, SeriesUpdate, ServerToClientEvents } from '@moodstream/trends';
import { attachSocketHub, type SocketHub } from '../src/server/socket-hub';
import { FakeTrends, makeAlert, makePoint } from './support/fake-trends';

/**
 * Two dashboard instances sharing live updates through a real Redis (the socket.io Redis adapter): a browser
 * connected to one instance receives what the other instance's trends service produced.
 */

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const silent = createLogger('dashboard-int', { level: 'silent' });
type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

interface Instance {
  server: Server;
  hub: SocketHub;
  trends: FakeTrends;
  url: string;
}

describe('socket.io Redis adapter across two dashboard instances', { timeout: 60_000 }, () => {
  const channel = `moodstream-test-dashboard-${randomBytes(4).toString('hex')}`;
  let redis: Redis;
  let a: Instance;
  let b: Instance;
  const clients: Client[] = [];

  async function instance(): Promise<Instance> {
    const server = createServer();
    const trends = new FakeTrends();
    const hub = attachSocketHub({ httpServer: server, trends, logger: silent, clock: systemClock, pushIntervalMs: 0, redis, channel });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, hub, trends, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  async function client(url: string): Promise<Client> {
    const socket: Client = connect(url, { transports: ['websocket'], forceNew: true, reconnection: false });
    clients.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  }

  const until = async (check: () => boolean | Promise<boolean>, what: string, ms = 5_000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  before(async () => {
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    a = await instance();
    b = await instance();
    // The adapter subscribes asynchronously: wait until both instances listen on the request channel.
    const requestChannel = `${channel}-request#/#`;
    await until(async () => {
      const [, subscribers] = (await redis.call('PUBSUB', 'NUMSUB', requestChannel)) as [string, number];
      return subscribers >= 2;
    }, 'both instances to subscribe');
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const inst of [a, b]) {
      if (inst === undefined) continue;
      await inst.hub.close();
      await new Promise<void>((resolve) => inst.server.close(() => resolve()));
    }
    await redis?.quit();
  });

  it('delivers a bucket produced on instance A to a browser watching it on instance B, and only to watchers', async () => {
    const onB = await client(b.url);
    const otherOnB = await client(b.url);
    const seen: SeriesUpdate[] = [];
    const otherSeen: SeriesUpdate[] = [];
    onB.on('series', (u) => seen.push(u));
    otherOnB.on('series', (u) => otherSeen.push(u));
    onB.emit('watch', { topic: 'cats', window: '1m' });
    otherOnB.emit('watch', { topic: 'dogs', window: '1m' });
    await new Promise((r) => setTimeout(r, 200));

    a.trends.putPoint('cats', '1m', makePoint(60_000, 42, { happy: 0.6 }));
    await until(() => seen.length === 1, 'the update relayed through Redis');
    assert.equal(seen[0]?.point.count, 42);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(otherSeen.length, 0, 'the dogs watcher got nothing');
  });

  it('relays live alerts to every instance, and replay alerts only to that replay’s watchers', async () => {
    const onA = await client(a.url);
    const onB = await client(b.url);
    const replayWatcherOnA = await client(a.url);
    const alertsA: Alert[] = [];
    const alertsB: Alert[] = [];
    const alertsReplay: Alert[] = [];
    onA.on('alert', (x) => alertsA.push(x));
    onB.on('alert', (x) => alertsB.push(x));
    replayWatcherOnA.on('alert', (x) => alertsReplay.push(x));
    replayWatcherOnA.emit('watch', { topic: 'cats', window: '1m', replay: 'r-int' });
    await new Promise((r) => setTimeout(r, 200));

    b.trends.addAlert(makeAlert({ id: 'live', topic: 'cats', emotion: 'angry' }));
    b.trends.addAlert(makeAlert({ id: 'in-replay', topic: 'cats', emotion: 'angry', replayId: 'r-int' }));
    await until(() => alertsA.length === 1 && alertsB.length === 1 && alertsReplay.length === 2, 'the alerts on both instances');
    assert.deepEqual(alertsReplay.map((x) => x.id).sort(), ['in-replay', 'live']);
    assert.deepEqual(alertsA.map((x) => x.id), ['live']);
  });

  it('closing one instance leaves the other instance’s browsers connected', async () => {
    const onA = await client(a.url);
    const c = await instance();
    const onC = await client(c.url);
    await c.hub.close();
    await new Promise<void>((resolve) => c.server.close(() => resolve()));
    await until(() => !onC.connected, 'the closed instance’s browser to drop');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(onA.connected, true);
  });
});
