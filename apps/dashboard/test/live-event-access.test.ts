import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { io as connect, type Socket } from 'socket.io-client';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger, createMetricsRegistry } from '@moodstream/core';
import { MomentUpdateSchema, TOPICS, type MomentUpdate } from '@moodstream/events';
import { createMemoryTrendsStore, createTrendsService, trendsConfig, type TrendsService } from '@moodstream/trends';
import { createDashboardApp, type DashboardApp } from '../src/app';
import { dashboardConfig } from '../src/config';

/**
 * The live-event writes (watched topics, moments, alert rules) go through the same write rules as acknowledging an
 * alert: the operator token, the per-address rate; `who` names the operator and the address. A moment is pushed
 * to every connected browser.
 */
describe('live-event routes on the dashboard server', { timeout: 180_000 }, () => {
  const logger = createLogger('live-event-access-test', { level: 'silent' });
  const token = 'operator-token-live-event-0123';
  const STRANGER = '203.0.113.9';
  let trends: TrendsService;
  let app: DashboardApp;
  let base = '';
  const registry = createMetricsRegistry('dashboard', { defaultMetrics: false });

  const raw = (method: string, path: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${base}${path}`, { method, headers: { 'x-test-peer': STRANGER, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });

  before(async () => {
    trends = createTrendsService({
      bus: createMemoryBus(),
      store: createMemoryTrendsStore(),
      logger,
      config: trendsConfig({ TRENDS_CONFUSION_PATH: '/nonexistent/confusion.json' }),
      topics: { scored: TOPICS.scored, alerts: TOPICS.alerts, posts: TOPICS.posts, deadLetter: TOPICS.deadLetter },
      groupId: 'live-event-access-test',
    });
    await trends.start();
    app = createDashboardApp({
      config: dashboardConfig({ PORT: 0, HOST: '0.0.0.0', DASHBOARD_PUSH_INTERVAL_MS: 0, DASHBOARD_OPERATOR_TOKEN: token, DASHBOARD_WRITE_RATE_PER_MINUTE: 8 }),
      logger,
      trends,
      ops: { registry, health: () => ({ ok: true }) },
      peerAddress: (req) => {
        const claimed = req.headers['x-test-peer'];
        return typeof claimed === 'string' ? claimed : req.socket.remoteAddress;
      },
    });
    base = `http://127.0.0.1:${(await app.start()).port}`;
  });

  after(async () => {
    await app?.stop();
    await trends?.stop();
  });

  it('refuses every live-event write without the token, takes it with one, records who, and pushes moments live', async () => {
    const writes: [string, string, string | undefined][] = [
      ['POST', '/api/topics/watched', JSON.stringify({ tag: '#Final' })],
      ['POST', '/api/moments', JSON.stringify({ label: 'kick-off' })],
      ['POST', '/api/alert-rules/final', JSON.stringify({ enabled: false })],
      ['DELETE', '/api/topics/watched/final', undefined],
    ];
    for (const [method, path, body] of writes) assert.equal((await raw(method, path, {}, body)).status, 401, `${method} ${path} without the token`);
    assert.equal((await raw('GET', '/api/topics/watched', {})).status, 200, 'reading stays open');

    const socket: Socket = connect(base, { path: '/socket.io', transports: ['websocket'] });
    const pushed: MomentUpdate[] = [];
    socket.on('moment', (payload: unknown) => pushed.push(MomentUpdateSchema.parse(payload)));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    try {
      const auth = { authorization: `Bearer ${token}`, 'x-moodstream-operator': 'Ana' };
      const topic = await raw('POST', '/api/topics/watched', auth, JSON.stringify({ tag: '#Final' }));
      assert.equal(topic.status, 201, topic.body);
      assert.equal((JSON.parse(topic.body) as { addedBy: string }).addedBy, `Ana (${STRANGER})`);
      const moment = await raw('POST', '/api/moments', auth, JSON.stringify({ label: 'kick-off' }));
      assert.equal(moment.status, 201, moment.body);
      const rule = await raw('POST', '/api/alert-rules/final', { authorization: `Bearer ${token}` }, JSON.stringify({ enabled: false }));
      assert.equal(rule.status, 200, rule.body);
      assert.equal((JSON.parse(rule.body) as { updatedBy: string }).updatedBy, `operator (${STRANGER})`, 'no name sent: "operator" and the address');
      const deadline = Date.now() + 5_000;
      while (pushed.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(pushed.map((p) => [p.action, p.moment.label]), [['added', 'kick-off']]);
      // The per-address write rate (8 a minute here, the refused ones counted) covers these writes too.
      const over = await raw('DELETE', '/api/topics/watched/final', auth);
      assert.equal(over.status, 200);
      assert.equal((await raw('POST', '/api/moments', auth, JSON.stringify({ label: 'one too many' }))).status, 429);
      assert.match(await registry.metrics(), /^moodstream_dashboard_refused_total\{reason="unauthorized",service="dashboard"\} 4$/m);
    } finally {
      socket.close();
    }
  });

  it('exports the series and the alerts as CSV over the API', async () => {
    const series = await fetch(`${base}/api/export/series.csv?topic=all&window=1m`);
    assert.equal(series.status, 200);
    assert.match(await series.text(), /^bucket_start,bucket_start_ms,topic,window,count,happy_share,happy_lo,happy_hi,happy_corrected,/);
    const alerts = await fetch(`${base}/api/export/alerts.csv`);
    assert.equal(alerts.status, 200);
    assert.match(alerts.headers.get('content-disposition') ?? '', /moodstream-alerts\.csv/);
    assert.equal((await fetch(`${base}/api/export/series.csv?window=2m`)).status, 400);
  });
});
