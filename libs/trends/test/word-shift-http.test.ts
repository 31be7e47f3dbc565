import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger } from '@moodstream/core';
import { ApiErrorSchema, topicNames, WordShiftSchema, type Alert } from '@moodstream/events';
import { trendsConfig } from '../src/config';
import { createTrendsHttpHandler } from '../src/http';
import { createMemoryTrendsStore } from '../src/memory-store';
import { createTrendsService, type TrendsService } from '../src/service';
import { T0 } from './fixtures';
import { feed, SPIKE_TOPIC } from './scenarios';
import { PLANTED, textedSpikeStream } from './word-shift-contract';

const logger = createLogger('test', { level: 'silent' });

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The service on a memory bus and store, fed the texted spike, its API on a loopback port. */
async function serve(overrides: Record<string, string>): Promise<{ service: TrendsService; api: string; close: () => Promise<void> }> {
  const service = createTrendsService({
    bus: createMemoryBus(),
    store: createMemoryTrendsStore(),
    logger,
    config: trendsConfig(overrides),
    topics: topicNames(),
    groupId: 'word-shift-test',
    consume: false,
  });
  await service.start();
  await feed(textedSpikeStream(), 1_000, (batch) => service.ingest(batch));
  const handler = createTrendsHttpHandler(service, { logger });
  const server = createServer((req, res) => void handler(req, res));
  const api = await listen(server);
  return {
    service,
    api,
    close: async () => {
      await service.stop();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('word shift over HTTP and the webhook', () => {
  const received: Alert[] = [];
  const hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Alert);
      res.writeHead(204).end();
    });
  });
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
    await new Promise((resolve) => hook.close(resolve));
  });

  it('answers GET /api/word-shift for any bucket, and the webhook carries the alert word shift', async () => {
    const hookUrl = await listen(hook);
    const { service, api, close } = await serve({ TRENDS_ALERT_WEBHOOK_URL: `${hookUrl}/alerts` });
    closers.push(close);
    const alerts = await service.alerts({ topic: SPIKE_TOPIC, limit: 10 });
    const alert = alerts.find((a) => a.emotion === 'scared');
    assert.ok(alert?.wordShift, 'the stored alert carries its word shift');

    const start = new Date(alert.window.start).toISOString();
    const response = await fetch(`${api}/api/word-shift?topic=${SPIKE_TOPIC}&window=1m&start=${start}&emotion=scared&limit=5`);
    assert.equal(response.status, 200);
    const shift = WordShiftSchema.parse(await response.json());
    assert.deepEqual(shift.terms.slice(0, 2).map((t) => t.term).sort(), [...PLANTED].sort());
    assert.equal(shift.terms.length, 5);
    assert.ok(Math.abs(shift.difference - alert.wordShift.difference) < 1e-12, 'the API and the alert explain the same window');
    assert.ok(Math.abs(shift.terms.reduce((n, t) => n + t.contribution, shift.rest) - shift.difference) < 1e-9);

    // A 5-minute bucket against the six before it: the planted words still lead.
    const coarse = WordShiftSchema.parse(await (await fetch(`${api}/api/word-shift?topic=${SPIKE_TOPIC}&window=5m&start=${T0 + 40 * 60_000}&emotion=scared&baselineWindows=6`)).json());
    assert.equal(coarse.baseline.windows, 6);
    assert.ok(PLANTED.includes(coarse.terms[0]?.term ?? ''));

    const bad = await fetch(`${api}/api/word-shift?topic=${SPIKE_TOPIC}&start=${start}&emotion=bored`);
    assert.equal(bad.status, 400);
    assert.match(ApiErrorSchema.parse(await bad.json()).error.message, /emotion/);

    for (let i = 0; i < 200 && !received.some((a) => a.id === alert.id); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const delivered = received.find((a) => a.id === alert.id);
    assert.deepEqual(delivered?.wordShift, alert.wordShift, 'the webhook body carries the word shift as stored');
  });

  it('answers 404 and fires alerts without word shifts when TRENDS_WORD_SHIFT=off', async () => {
    const { service, api, close } = await serve({ TRENDS_WORD_SHIFT: 'off' });
    closers.push(close);
    const alerts = await service.alerts({ topic: SPIKE_TOPIC, limit: 10 });
    assert.ok(alerts.length > 0 && alerts.every((a) => a.wordShift === undefined));
    const response = await fetch(`${api}/api/word-shift?topic=${SPIKE_TOPIC}&start=${T0}&emotion=scared`);
    assert.equal(response.status, 404);
    assert.equal(ApiErrorSchema.parse(await response.json()).error.code, 'NOT_FOUND');
  });
});
