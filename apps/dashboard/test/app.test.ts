import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { io as connect, type Socket } from 'socket.io-client';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger, createMetricsRegistry, createServiceRuntime, VirtualClock } from '@moodstream/core';
import { TOPICS } from '@moodstream/events';
import { createMemoryTrendsStore, createTrendsService, trendsConfig, type ClientToServerEvents, type SeriesUpdate, type ServerToClientEvents, type TrendsService } from '@moodstream/trends';
import { createDashboardApp, type DashboardApp } from '../src/app';
import { dashboardConfig } from '../src/config';
import { FakeTrends, makePoint } from './support/fake-trends';

/** The dashboard's HTTP server end to end on loopback: routing, health, headers, socket.io, shutdown. */
describe('dashboard server', { timeout: 180_000 }, () => {
  const fake = new FakeTrends();
  let app: DashboardApp;
  let base: string;
  let failNext = false;
  let trendsOk = true;
  const logger = createLogger('dashboard-test', { level: 'silent' });
  // The dashboard process's runtime: /healthz and /metrics on the web port are its report and its registry.
  const runtime = createServiceRuntime({ name: 'dashboard', logger, registry: createMetricsRegistry('dashboard', { defaultMetrics: false }), exit: () => undefined });
  const metricsText = async () => (await fetch(`${base}/metrics`)).text();

  before(async () => {
    const api = fake.handler;
    app = createDashboardApp({
      config: dashboardConfig({ PORT: 0, DASHBOARD_EXPLICIT_THRESHOLD: 0.7, DASHBOARD_PUSH_INTERVAL_MS: 0 }),
      logger,
      ops: runtime,
      trends: fake,
      api: async (req, res) => {
        if (failNext) {
          failNext = false;
          throw new Error('store unavailable');
        }
        return api(req, res);
      },
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    // Stands in for the trends part the real process registers beside the web app.
    await runtime.start('trends', { stop: async () => undefined, health: () => ({ ok: trendsOk }) });
    await runtime.start('dashboard', app);
    const started = app.address();
    assert.match(started?.url ?? '', /^http:\/\/localhost:\d+$/);
    base = started?.url ?? '';
  });

  after(async () => {
    await app?.stop();
  });

  it('reports health', async () => {
    const res = await fetch(`${base}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      ok: true,
      service: 'dashboard',
      parts: { trends: { state: 'running', ok: true }, dashboard: { state: 'running', ok: true, detail: { connections: 0 } } },
    });
  });

  it('answers /healthz 503 while a part of the process is unhealthy', async () => {
    trendsOk = false;
    try {
      const res = await fetch(`${base}/healthz`);
      assert.equal(res.status, 503);
      const body = (await res.json()) as { ok: boolean; parts: { trends: { ok: boolean } } };
      assert.equal(body.ok, false);
      assert.equal(body.parts.trends.ok, false);
    } finally {
      trendsOk = true;
    }
  });

  it('tells the page the configured explicit-image threshold', async () => {
    assert.deepEqual(await (await fetch(`${base}/ui-config.json`)).json(), { explicitThreshold: 0.7 });
  });

  it('hands /api to the trends handler, with JSON 404s and 500s around it', async () => {
    fake.topics = [{ topic: 'cats', count: 3, lastSeen: 1 }];
    const topics = await fetch(`${base}/api/topics`);
    assert.equal(topics.status, 200);
    assert.deepEqual(await topics.json(), { topics: fake.topics });

    const missing = await fetch(`${base}/api/nothing-here`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');

    const wrongMethod = await fetch(`${base}/api/topics`, { method: 'PUT' });
    assert.equal(wrongMethod.status, 405);
    assert.equal(((await wrongMethod.json()) as { error: { code: string } }).error.code, 'METHOD_NOT_ALLOWED');

    const malformed = await fetch(`${base}/api/%E0%A4%A`);
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { error: { code: string } }).error.code, 'BAD_REQUEST');

    failNext = true;
    const broken = await fetch(`${base}/api/topics`);
    assert.equal(broken.status, 500);
    assert.equal(((await broken.json()) as { error: { code: string } }).error.code, 'INTERNAL');
  });

  it('answers an oversized query string 414 at once, never 500', async () => {
    for (const size of [10_000, 100_000]) {
      const started = Date.now();
      const res = await raw(base, 'GET', `/api/series?topic=${'x'.repeat(size)}`);
      assert.equal(res.status, 414, `${size} bytes`);
      assert.equal(JSON.parse(res.body).error.code, 'URI_TOO_LONG');
      assert.ok(Date.now() - started < 2_000, 'quickly');
    }
    assert.match(await metricsText(), /^moodstream_dashboard_refused_total\{reason="uri_too_long",service="dashboard"\} 2$/m);
  });

  it('lets the operator act from loopback without a token, but not another site through their browser', async () => {
    fake.alerts.push(fakeAlert('a-loop'));
    const crossSite = await raw(base, 'POST', '/api/alerts/a-loop/ack', { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'content-type': 'application/x-www-form-urlencoded' }, 'x=1');
    assert.equal(crossSite.status, 403);
    assert.equal(JSON.parse(crossSite.body).error.code, 'FORBIDDEN');
    assert.deepEqual(fake.acknowledged, [], 'nothing acknowledged by the cross-site request');
    const own = await raw(base, 'POST', '/api/alerts/a-loop/ack', { origin: base, 'sec-fetch-site': 'same-origin' });
    assert.equal(own.status, 200);
    assert.deepEqual(fake.acknowledged, ['a-loop']);
    assert.match(await metricsText(), /^moodstream_dashboard_refused_total\{reason="cross_site",service="dashboard"\} 1$/m);
  });

  it('serves the prebuilt pages with protective headers', async () => {
    for (const path of ['/', '/replay']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-powered-by'), null);
      assert.match(res.headers.get('content-security-policy') ?? '', /object-src 'none'/);
      assert.match(await res.text(), /moodstream/);
    }
    assert.equal((await fetch(`${base}/no-such-page`)).status, 404);
  });

  it('pushes watched buckets over socket.io on the same port', async () => {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(base, { transports: ['websocket'], forceNew: true, reconnection: false });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const health = (await (await fetch(`${base}/healthz`)).json()) as { parts: { dashboard: { detail: { connections: number } } } };
      assert.equal(health.parts.dashboard.detail.connections, 1);
      const got = new Promise<SeriesUpdate>((resolve) => socket.once('series', resolve));
      socket.emit('watch', { topic: 'cats', window: '1m' });
      await new Promise((r) => setTimeout(r, 100));
      fake.putPoint('cats', '1m', makePoint(0, 7, {}));
      assert.equal((await got).point.count, 7);
      const text = await metricsText();
      assert.match(text, /^moodstream_dashboard_socket_connections\{service="dashboard"\} 1$/m);
      assert.match(text, /^moodstream_dashboard_pushes_total\{event="series",service="dashboard"\} 1$/m);
      assert.match(text, /^moodstream_dashboard_http_requests_total\{route="\/healthz",status="200",service="dashboard"\} \d+$/m);
    } finally {
      socket.close();
    }
  });

  it('refuses a second start and stops cleanly (twice is fine)', async () => {
    await assert.rejects(app.start(), /already started/);
    await app.stop();
    await app.stop();
    assert.equal(fake.listenerCount('series'), 0);
    await assert.rejects(fetch(`${base}/healthz`));
  });
});

/** A request with exactly these headers (fetch would add or refuse some), to a given Host. */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The fake answers an acknowledgement with the stored alert; only its id and flag matter here. */
function fakeAlert(id: string): FakeTrends['alerts'][number] {
  return { id, acknowledged: false, replayId: null } as unknown as FakeTrends['alerts'][number];
}

describe('write actions: operator credential, loopback rule and limits', { timeout: 180_000 }, () => {
  const logger = createLogger('dashboard-access-test', { level: 'silent' });
  /**
   * A client on another machine (a TEST-NET-3 documentation address that is never contacted): every request goes over
   * loopback, and the app reads this header as the client's address through its `peerAddress` seam.
   */
  const STRANGER = '203.0.113.7';
  const PEER_HEADER = 'x-test-peer';
  const fromStranger = (headers: Record<string, string> = {}): Record<string, string> => ({ ...headers, [PEER_HEADER]: STRANGER });
  const HOUR = 3_600_000;
  const replayBody = JSON.stringify({ topic: 'all', from: Date.now() - HOUR, to: Date.now(), speed: 1 });
  let trends: TrendsService;
  const apps: DashboardApp[] = [];
  const registries: ReturnType<typeof createMetricsRegistry>[] = [];

  const startApp = async (overrides: Parameters<typeof dashboardConfig>[0], clock?: VirtualClock): Promise<{ port: number; metrics: () => Promise<string> }> => {
    const registry = createMetricsRegistry('dashboard', { defaultMetrics: false });
    registries.push(registry);
    const app = createDashboardApp({
      config: dashboardConfig({ PORT: 0, HOST: '0.0.0.0', DASHBOARD_PUSH_INTERVAL_MS: 0, ...overrides }),
      logger,
      trends,
      ops: { registry, health: () => ({ ok: true }) },
      peerAddress: (req) => {
        const claimed = req.headers[PEER_HEADER];
        return typeof claimed === 'string' ? claimed : req.socket.remoteAddress;
      },
      ...(clock === undefined ? {} : { clock }),
    });
    apps.push(app);
    const { port } = await app.start();
    return { port, metrics: () => registry.metrics() };
  };

  before(async () => {
    trends = createTrendsService({
      bus: createMemoryBus(),
      store: createMemoryTrendsStore(),
      logger,
      config: trendsConfig({ TRENDS_CONFUSION_PATH: '/nonexistent/confusion.json' }),
      topics: { scored: TOPICS.scored, alerts: TOPICS.alerts, posts: TOPICS.posts, deadLetter: TOPICS.deadLetter },
      groupId: 'dashboard-access-test',
    });
    await trends.start();
  });

  after(async () => {
    for (const app of apps) await app.stop();
    await trends?.stop();
  });

  it('without a token: refused 403 from a non-loopback address (naming the setting), allowed from loopback; replays beyond the limit 429 from loopback too', async () => {
    const { port, metrics } = await startApp({ TRENDS_MAX_CONCURRENT_REPLAYS: 2 });
    const json = { 'content-type': 'application/json' };

    const remote = await raw(`http://127.0.0.1:${port}`, 'POST', '/api/replays', fromStranger(json), replayBody);
    assert.equal(remote.status, 403);
    const refusal = JSON.parse(remote.body) as { error: { code: string; message: string } };
    assert.equal(refusal.error.code, 'FORBIDDEN');
    assert.match(refusal.error.message, /DASHBOARD_OPERATOR_TOKEN/);
    assert.equal((await raw(`http://127.0.0.1:${port}`, 'POST', '/api/alerts/nope/ack', fromStranger())).status, 403, 'acknowledging too');
    assert.equal((await raw(`http://127.0.0.1:${port}`, 'GET', '/api/replays', fromStranger())).status, 200, 'reading stays open');
    // A loopback peer reached under a foreign host name (DNS rebinding) is a stranger too.
    assert.equal((await raw(`http://127.0.0.1:${port}`, 'POST', '/api/replays', { ...json, host: 'evil.example' }, replayBody)).status, 403);

    const local = `http://127.0.0.1:${port}`;
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const started = await raw(local, 'POST', '/api/replays', json, replayBody);
      assert.equal(started.status, 201, started.body);
      ids.push((JSON.parse(started.body) as { id: string }).id);
    }
    const third = await raw(local, 'POST', '/api/replays', json, replayBody);
    assert.equal(third.status, 429, 'the limit holds from loopback too');
    assert.equal(JSON.parse(third.body).error.code, 'TOO_MANY_REQUESTS');
    assert.match(JSON.parse(third.body).error.message, /at most 2/);
    // A paused replay still holds its place; a stopped one frees it.
    assert.equal((await raw(local, 'POST', `/api/replays/${ids[0]}/pause`)).status, 200);
    assert.equal((await raw(local, 'POST', '/api/replays', json, replayBody)).status, 429);
    assert.equal((await raw(local, 'POST', `/api/replays/${ids[0]}/stop`)).status, 200);
    await trends.waitForReplay(ids[0]!);
    const after = await raw(local, 'POST', '/api/replays', json, replayBody);
    assert.equal(after.status, 201);
    ids.push((JSON.parse(after.body) as { id: string }).id);
    const big = await raw(local, 'POST', '/api/replays', { ...json }, JSON.stringify({ pad: 'x'.repeat(20_000) }));
    assert.equal(big.status, 413);
    for (const id of ids) await raw(local, 'POST', `/api/replays/${id}/stop`);

    const text = await metrics();
    assert.match(text, /^moodstream_dashboard_refused_total\{reason="not_loopback",service="dashboard"\} 3$/m);
    assert.match(text, /^moodstream_dashboard_refused_total\{reason="replays",service="dashboard"\} 2$/m);
    assert.match(text, /^moodstream_dashboard_refused_total\{reason="body_too_large",service="dashboard"\} 1$/m);
  });

  it('with a token: allowed from anywhere with it, 401 without it or with a wrong one (loopback too)', async () => {
    const token = 'operator-token-0123456789';
    const { port, metrics } = await startApp({ DASHBOARD_OPERATOR_TOKEN: token });
    const json = { 'content-type': 'application/json' };
    const base = `http://127.0.0.1:${port}`;
    for (const who of [fromStranger, (headers: Record<string, string>) => headers]) {
      for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Basic ${token}`]) {
        const res = await raw(base, 'POST', '/api/replays', who({ ...json, ...(authorization === undefined ? {} : { authorization }) }), replayBody);
        assert.equal(res.status, 401, `${who === fromStranger ? STRANGER : 'loopback'} ${authorization}`);
        assert.equal(JSON.parse(res.body).error.code, 'UNAUTHORIZED');
        assert.match(String(res.headers['www-authenticate']), /^Bearer/);
        assert.doesNotMatch(res.body, new RegExp(token));
      }
    }
    const ok = await raw(`http://127.0.0.1:${port}`, 'POST', '/api/replays', fromStranger({ ...json, authorization: `Bearer ${token}` }), replayBody);
    assert.equal(ok.status, 201, ok.body);
    const { id } = JSON.parse(ok.body) as { id: string };
    assert.equal((await raw(`http://127.0.0.1:${port}`, 'POST', `/api/replays/${id}/stop`, fromStranger({ authorization: `Bearer ${token}` }))).status, 200);
    assert.match(await metrics(), /^moodstream_dashboard_refused_total\{reason="unauthorized",service="dashboard"\} 6$/m);
  });

  it('limits write actions per client address per minute: 429 with Retry-After, refilled as time passes', async () => {
    const clock = new VirtualClock(Date.now());
    const { port, metrics } = await startApp({ HOST: '127.0.0.1', DASHBOARD_WRITE_RATE_PER_MINUTE: 3 }, clock);
    const local = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 3; i++) assert.equal((await raw(local, 'POST', '/api/alerts/none/ack')).status, 404, `write ${i} passes the limit`);
    const limited = await raw(local, 'POST', '/api/alerts/none/ack');
    assert.equal(limited.status, 429);
    assert.equal(JSON.parse(limited.body).error.code, 'TOO_MANY_REQUESTS');
    assert.equal(limited.headers['retry-after'], '20');
    assert.equal((await raw(local, 'GET', '/api/alerts')).status, 200, 'reading is not limited');
    clock.advance(20_000);
    assert.equal((await raw(local, 'POST', '/api/alerts/none/ack')).status, 404, 'a token back after Retry-After');
    assert.match(await metrics(), /^moodstream_dashboard_refused_total\{reason="rate_limited",service="dashboard"\} 1$/m);
  });
});
