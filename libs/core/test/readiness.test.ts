import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import {
  VirtualClock,
  createLogger,
  createMetricsRegistry,
  createReadiness,
  createServiceRuntime,
  flagDependency,
  redisDependency,
  reportOutages,
  startOpsServer,
} from '../src/index';

const quiet = createLogger('t', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('readiness reports each dependency; a check that hangs is not ready after its timeout; answers are reused for cacheMs', async () => {
  const clock = new VirtualClock(0);
  const readiness = createReadiness({ clock, timeoutMs: 2_000, cacheMs: 1_000 });
  let kafkaCalls = 0;
  readiness.add('kafka', () => {
    kafkaCalls++;
    return { ok: true };
  });
  let redisCalls = 0;
  readiness.add('redis', () => {
    redisCalls++;
    return new Promise(() => undefined);
  });
  readiness.add('model', () => {
    throw new Error('weights missing');
  });
  const pending = readiness.check();
  await flush();
  clock.advance(2_000);
  const report = await pending;
  assert.deepEqual(report, {
    kafka: { ok: true },
    redis: { ok: false, detail: { reason: 'no answer within 2000 ms' } },
    model: { ok: false, detail: { reason: 'weights missing' } },
  });
  // Each answer is reused for cacheMs after it came: kafka's (at 0 ms) is stale at 2,500 ms, the hung redis check's
  // (its timeout, at 2,000 ms) is not.
  clock.advance(500);
  await readiness.check();
  assert.equal(redisCalls, 1, 'reused within cacheMs');
  clock.advance(500);
  const third = readiness.check();
  await flush();
  clock.advance(2_000);
  await third;
  assert.equal(redisCalls, 2, 'probed again once its answer is older than cacheMs');
  assert.equal(kafkaCalls, 2, 'kafka answered at 2,500 ms: still fresh at 3,000 ms');
});

test('redisDependency: not ready unless connected and answering PING; flagDependency follows its flag', async () => {
  const client = { status: 'reconnecting', ping: async () => 'PONG' };
  assert.deepEqual(await redisDependency(client)(), { ok: false, detail: { status: 'reconnecting' } });
  client.status = 'ready';
  assert.deepEqual(await redisDependency(client)(), { ok: true, detail: { status: 'ready' } });
  let loaded = false;
  const model = flagDependency(() => loaded, () => ({ version: 'v1' }));
  assert.deepEqual(await model(), { ok: false, detail: { version: 'v1' } });
  loaded = true;
  assert.equal((await model()).ok, true);
});

test('/readyz answers 503 naming the dependency that is down while /healthz (liveness) stays 200', async () => {
  const runtime = createServiceRuntime({ name: 'unit', logger: quiet, registry: createMetricsRegistry('unit', { defaultMetrics: false }), exit: () => undefined });
  let redisUp = true;
  runtime.dependency('redis', () => ({ ok: redisUp }));
  runtime.dependency('kafka', () => ({ ok: true }));
  await runtime.start('worker', { stop: async () => undefined });
  const ops = await startOpsServer({ registry: runtime.registry, health: () => runtime.health(), ready: () => runtime.ready(), port: 0 });
  try {
    const url = (path: string): string => `http://127.0.0.1:${ops.port}${path}`;
    const ready = await fetch(url('/readyz'));
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ok: true, service: 'unit', live: true, dependencies: { redis: { ok: true }, kafka: { ok: true } } });
    redisUp = false;
    // The cached answer expires after a second of real time (the runtime's system clock).
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const notReady = await fetch(url('/readyz'));
    assert.equal(notReady.status, 503);
    const body = (await notReady.json()) as { ok: boolean; dependencies: Record<string, { ok: boolean }> };
    assert.equal(body.ok, false);
    assert.equal(body.dependencies['redis']?.ok, false);
    assert.equal(body.dependencies['kafka']?.ok, true);
    assert.equal((await fetch(url('/healthz'))).status, 200, 'a dependency outage is not a reason to restart the process');
  } finally {
    await ops.close();
    await runtime.close();
  }
});

test('reportOutages: one error line per outage however many reconnect attempts fail, and one line when it is back', () => {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const logger = {
    error: (fields: Record<string, unknown>, msg: string) => void lines.push({ level: 'error', msg, fields }),
    warn: (fields: Record<string, unknown>, msg: string) => void lines.push({ level: 'warn', msg, fields }),
  };
  const client = new EventEmitter();
  let now = 1_000;
  const state = reportOutages(client, logger as never, 'Redis', () => now);
  for (let i = 0; i < 25; i++) client.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.level, 'error');
  assert.match(lines[0]?.msg ?? '', /^Redis is unavailable \(connect ECONNREFUSED 127\.0\.0\.1:6379\); reconnecting quietly/);
  assert.equal(lines[0]?.fields['err'], undefined, 'no stack trace');
  now = 31_000;
  client.emit('ready');
  assert.equal(lines.length, 2);
  assert.equal(lines[1]?.msg, 'Redis answers again after 30.0s (25 failed attempts)');
  client.emit('ready');
  client.emit('error', new Error('read ECONNRESET'));
  assert.equal(lines.length, 3, 'a second outage gets its own line');
  assert.equal(state.outages, 2);
});
