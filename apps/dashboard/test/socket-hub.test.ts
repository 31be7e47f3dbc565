import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { io as connect, type Socket } from 'socket.io-client';
import { VirtualClock, createLogger, systemClock } from '@moodstream/core';
import type { ClientToServerEvents, SeriesUpdate, ServerToClientEvents } from '@moodstream/trends';
import { PushCoalescer } from '../src/server/push-coalescer';
import { replayRoom, seriesRoom } from '../src/server/rooms';
import { attachSocketHub, type SocketHub } from '../src/server/socket-hub';
import { FakeTrends, makeAlert, makePoint } from './support/fake-trends';

const MIN = 60_000;
const silent = createLogger('dashboard-test', { level: 'silent' });
type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

describe('rooms', () => {
  it('names one room per replay, window and topic, collision-free', () => {
    assert.notEqual(seriesRoom({ topic: 'a', window: '1m' }), seriesRoom({ topic: 'a', window: '5m' }));
    assert.notEqual(seriesRoom({ topic: 'a', window: '1m' }), seriesRoom({ topic: 'a', window: '1m', replay: 'r' }));
    assert.equal(seriesRoom({ topic: 'a', window: '1m', replay: null }), seriesRoom({ topic: 'a', window: '1m' }));
    assert.notEqual(seriesRoom({ topic: 'x|1m|a', window: '1m' }), seriesRoom({ topic: 'a', window: '1m', replay: 'x|1m' }));
    assert.notEqual(replayRoom('r1'), seriesRoom({ topic: 'r1', window: '1m' }));
  });
});

describe('PushCoalescer (virtual time)', () => {
  const update = (topic: string, minute: number, count: number): SeriesUpdate => ({ topic, window: '1m', replay: null, point: makePoint(minute * MIN, count, {}) });

  it('sends the newest version of each bucket once per interval, oldest bucket first', () => {
    const clock = new VirtualClock(0);
    const sent: { room: string; start: number; count: number }[] = [];
    const c = new PushCoalescer(clock, 250, (room, u) => sent.push({ room, start: u.point.start, count: u.point.count }));
    c.push(update('cats', 2, 1));
    c.push(update('cats', 2, 2));
    c.push(update('cats', 1, 7));
    c.push(update('dogs', 2, 5));
    clock.advance(249);
    assert.equal(sent.length, 0);
    clock.advance(1);
    assert.deepEqual(sent, [
      { room: seriesRoom({ topic: 'cats', window: '1m' }), start: MIN, count: 7 },
      { room: seriesRoom({ topic: 'cats', window: '1m' }), start: 2 * MIN, count: 2 },
      { room: seriesRoom({ topic: 'dogs', window: '1m' }), start: 2 * MIN, count: 5 },
    ]);
    c.push(update('cats', 2, 3));
    clock.advance(250);
    assert.equal(sent.length, 4);
    assert.equal(c.size, 0);
    assert.equal(clock.pendingTimers(), 0);
  });

  it('sends at once with interval 0 and drops pending updates on clear', () => {
    const clock = new VirtualClock(0);
    let sent = 0;
    new PushCoalescer(clock, 0, () => sent++).push(update('a', 1, 1));
    assert.equal(sent, 1);
    const c = new PushCoalescer(clock, 100, () => sent++);
    c.push(update('a', 1, 1));
    c.clear();
    clock.advance(1_000);
    assert.equal(sent, 1);
  });
});

describe('socket hub over real sockets', () => {
  let server: Server;
  let hub: SocketHub;
  let url: string;
  const fake = new FakeTrends();
  const clients: Client[] = [];

  before(async () => {
    server = createServer();
    hub = attachSocketHub({ httpServer: server, trends: fake, logger: silent, clock: systemClock, pushIntervalMs: 20, channel: 'unused' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const c of clients) c.close();
    await hub.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    assert.equal(fake.listenerCount('series'), 0, 'stops listening to the trends service');
  });

  async function client(): Promise<Client> {
    const socket: Client = connect(url, { transports: ['websocket'], forceNew: true });
    clients.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  }

  function collect<E extends keyof ServerToClientEvents>(socket: Client, event: E): Parameters<ServerToClientEvents[E]>[0][] {
    const seen: Parameters<ServerToClientEvents[E]>[0][] = [];
    socket.on(event as 'series', ((payload: never) => seen.push(payload)) as never);
    return seen;
  }

  /** Round-trips a watch so the server has joined the room before the test emits. */
  async function watch(socket: Client, selection: Parameters<ClientToServerEvents['watch']>[0]): Promise<void> {
    socket.emit('watch', selection);
    await new Promise((r) => setTimeout(r, 50));
  }

  const until = async (check: () => boolean, what: string, ms = 3_000) => {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it('sends each socket only the series it watches, and follows a change of selection', async () => {
    const cats = await client();
    const dogs = await client();
    const catsSeen = collect(cats, 'series');
    const dogsSeen = collect(dogs, 'series');
    await watch(cats, { topic: 'cats', window: '1m' });
    await watch(dogs, { topic: 'dogs', window: '1m' });

    fake.putPoint('cats', '1m', makePoint(MIN, 3, {}));
    fake.putPoint('cats', '5m', makePoint(0, 3, {}));
    fake.putPoint('dogs', '1m', makePoint(MIN, 4, {}));
    await until(() => catsSeen.length === 1 && dogsSeen.length === 1, 'one update each');
    assert.equal(catsSeen[0]?.topic, 'cats');
    assert.equal(dogsSeen[0]?.point.count, 4);

    await watch(cats, { topic: 'cats', window: '5m' });
    fake.putPoint('cats', '1m', makePoint(2 * MIN, 5, {}));
    fake.putPoint('cats', '5m', makePoint(0, 9, {}));
    await until(() => catsSeen.length === 2, 'the 5m update');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(catsSeen.length, 2, 'no longer receives 1m buckets');
    assert.equal(catsSeen[1]?.window, '5m');
  });

  it('ignores malformed watch messages', async () => {
    const socket = await client();
    const seen = collect(socket, 'series');
    await watch(socket, { topic: '', window: '1m' });
    socket.emit('watch', { topic: 'cats', window: '2m' } as never);
    socket.emit('watch', 'cats' as never);
    await new Promise((r) => setTimeout(r, 50));
    fake.putPoint('cats', '1m', makePoint(3 * MIN, 1, {}));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen.length, 0);
    assert.equal(socket.connected, true);
  });

  it('broadcasts live alerts, topics and replay status; replay alerts only to that replay', async () => {
    const live = await client();
    const replaying = await client();
    const liveAlerts = collect(live, 'alert');
    const replayAlerts = collect(replaying, 'alert');
    const topics = collect(live, 'topics');
    const statuses = collect(replaying, 'replay');
    await watch(replaying, { topic: 'cats', window: '1m', replay: 'r9' });

    fake.addAlert(makeAlert({ id: 'live-1', topic: 'cats', emotion: 'sad' }));
    fake.addAlert(makeAlert({ id: 'replay-1', topic: 'cats', emotion: 'sad', replayId: 'r9' }));
    fake.emit('topics', [{ topic: 'cats', count: 3, lastSeen: 1 }]);
    fake.setReplay({ id: 'r9', topic: 'cats', from: 0, to: 1, speed: 'max', rescore: false, state: 'done', progress: 1, cursor: 1, processed: 3, alerts: 1, startedAt: 0, finishedAt: 1, error: null });
    await until(() => liveAlerts.length === 1 && replayAlerts.length === 2 && topics.length === 1 && statuses.length === 1, 'the broadcasts');
    assert.deepEqual(liveAlerts.map((a) => a.id), ['live-1']);
    assert.deepEqual(replayAlerts.map((a) => a.id).sort(), ['live-1', 'replay-1']);
  });
});
