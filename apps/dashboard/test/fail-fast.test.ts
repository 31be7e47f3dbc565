import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { failFastWhileDown, type TrendsHttpHandler } from '../src/trends-port';

/**
 * During a Redis outage the trends API answers at once with 503 DEPENDENCY_UNAVAILABLE (and Retry-After) instead of
 * waiting out the Redis client's retries; the handler behind it is not even asked. Other paths are passed through.
 */
test('failFastWhileDown: /api answers 503 DEPENDENCY_UNAVAILABLE at once while the dependency is down', async () => {
  let asked = 0;
  const slow: TrendsHttpHandler = async (req, res) => {
    asked++;
    if (!(req.url ?? '').startsWith('/api')) return false;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    res.writeHead(200).end('{}');
    return true;
  };
  let up = false;
  const handler = failFastWhileDown(slow, { name: 'Redis', up: () => up });
  const server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const started = Date.now();
    const response = await fetch(`${base}/api/series?topic=all&window=1m`);
    const took = Date.now() - started;
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '5');
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'DEPENDENCY_UNAVAILABLE');
    assert.match(body.error.message, /^Redis is unavailable/);
    assert.ok(took < 1_000, `answered in ${took} ms`);
    assert.equal(asked, 0, 'the handler is not asked while Redis is down');
    assert.equal((await fetch(`${base}/other`)).status, 404, 'a path outside /api goes on to the handler');
    up = true;
    assert.equal((await fetch(`${base}/api/alerts`)).status, 200, 'back to normal once Redis answers');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
