import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter } from 'prom-client';
import { createMetricsRegistry, startOpsServer } from '../src/index';

test('ops server serves /metrics and a /healthz that follows health()', async () => {
  const registry = createMetricsRegistry('unit', { defaultMetrics: false });
  const counter = new Counter({ name: 'moodstream_unit_things_total', help: 'things', registers: [registry] });
  counter.inc(3);
  let healthy = true;
  const server = await startOpsServer({ registry, port: 0, health: () => ({ ok: healthy, detail: { kafka: healthy } }) });
  try {
    const base = `http://127.0.0.1:${server.port}`;
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /moodstream_unit_things_total\{app="unit"\} 3/);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    healthy = false;
    const down = await fetch(`${base}/healthz`);
    assert.equal(down.status, 503);
    assert.deepEqual(await down.json(), { ok: false, detail: { kafka: false } });
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await server.close();
  }
});
