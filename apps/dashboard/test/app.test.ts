import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { io as connect, type Socket } from 'socket.io-client';
import { createLogger, createMetricsRegistry, createServiceRuntime } from '@moodstream/core';
import type { ClientToServerEvents, SeriesUpdate, ServerToClientEvents } from '@moodstream/trends';
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
