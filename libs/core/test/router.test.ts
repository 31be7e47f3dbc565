import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { MoodstreamError, addOpsRoutes, createLogger, createMetricsRegistry, createRouter, parseInput, queryObject, readJsonBody, sendJson, startOpsServer } from '../src/index';

const logged: string[] = [];
const logger = createLogger('t', { destination: new Writable({ write: (chunk: Buffer, _e, cb) => (logged.push(chunk.toString()), cb()) }) });

async function serve(handle: (req: Parameters<Parameters<typeof createServer>[1] & object>[0], res: Parameters<Parameters<typeof createServer>[1] & object>[1]) => Promise<void>): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

test('routes by method and path, answers errors with their code status, falls through for paths it does not own', async () => {
  const router = createRouter({ logger, owns: (path) => path.startsWith('/api'), what: 'test API' })
    .get('/api/items/:id', ({ res, params }) => sendJson(res, 200, { id: params['id'] }))
    .get('/api/search', ({ res, url }) => sendJson(res, 200, parseInput(z.object({ q: z.string().min(2) }).strict(), queryObject(url.searchParams), 'search query')))
    .post('/api/items', async ({ req, res }) => sendJson(res, 201, parseInput(z.object({ name: z.string() }), await readJsonBody(req, 64), 'item')))
    .get('/api/gone', () => {
      throw new MoodstreamError('TRENDS_REPLAY_EXISTS', 'replay r1 already exists');
    })
    .get('/api/boom', () => {
      throw new Error('secret internals');
    });
  const { base, server } = await serve(async (req, res) => {
    if (!(await router.handle(req, res))) sendJson(res, 299, { fellThrough: true });
  });
  try {
    assert.deepEqual(await (await fetch(`${base}/api/items/a%20b`)).json(), { id: 'a b' });
    assert.equal((await fetch(`${base}/api/search?q=ok`)).status, 200);
    const bad = await fetch(`${base}/api/search?q=x&extra=1`);
    assert.equal(bad.status, 400);
    const badBody = (await bad.json()) as { error: { code: string; message: string } };
    assert.equal(badBody.error.code, 'BAD_REQUEST');
    assert.match(badBody.error.message, /q: .*2/);
    assert.match(badBody.error.message, /extra/, 'every bad field is named at once');
    assert.equal((await fetch(`${base}/api/search?q=ab&q=cd`)).status, 400, 'a repeated key is refused');
    assert.equal((await fetch(`${base}/api/items`, { method: 'POST', body: '{"name":"n"}', headers: { 'content-type': 'application/json' } })).status, 201);
    assert.equal((await fetch(`${base}/api/items`, { method: 'POST', body: 'x'.repeat(100), headers: { 'content-type': 'application/json' } })).status, 413);
    assert.equal((await fetch(`${base}/api/items`, { method: 'POST', body: 'name=n', headers: { 'content-type': 'text/plain' } })).status, 415);
    const wrongMethod = await fetch(`${base}/api/items/1`, { method: 'DELETE' });
    assert.equal(wrongMethod.status, 405);
    assert.match(((await wrongMethod.json()) as { error: { message: string } }).error.message, /GET/);
    assert.equal((await fetch(`${base}/api/gone`)).status, 409, 'status from the closed list of codes');
    assert.equal((await fetch(`${base}/api/nothing`)).status, 404);
    const malformed = await fetch(`${base}/api/%E0%A4%A`);
    assert.equal(malformed.status, 400, 'a malformed escape is a client error');
    logged.length = 0;
    const boom = await fetch(`${base}/api/boom`);
    assert.equal(boom.status, 500);
    const boomBody = (await boom.json()) as { error: { code: string; message: string } };
    assert.equal(boomBody.error.code, 'INTERNAL');
    assert.doesNotMatch(boomBody.error.message, /secret/, 'internals stay in the log');
    assert.match(logged.join(''), /secret internals/);
    assert.equal((await fetch(`${base}/elsewhere`)).status, 299, 'not owned: falls through');
  } finally {
    server.close();
    server.closeAllConnections();
  }
});

test('ops routes serve /metrics and a /healthz that follows the health report', async () => {
  const registry = createMetricsRegistry('unit', { defaultMetrics: false });
  new Counter({ name: 'moodstream_unit_things_total', help: 'things', registers: [registry] }).inc(3);
  let healthy = true;
  const ops = await startOpsServer({ registry, port: 0, health: () => ({ ok: healthy, parts: { kafka: { ok: healthy } } }) });
  try {
    const base = `http://127.0.0.1:${ops.port}`;
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /moodstream_unit_things_total\{service="unit"\} 3/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    healthy = false;
    const down = await fetch(`${base}/healthz`);
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), { ok: false, parts: { kafka: { ok: false } } });
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await ops.close();
  }
  // The same routes mount on another server's router (the dashboard's web port).
  const router = addOpsRoutes(createRouter(), { registry, health: () => ({ ok: true }) });
  const { base, server } = await serve(async (req, res) => void (await router.handle(req, res)));
  try {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  } finally {
    server.close();
    server.closeAllConnections();
  }
});
