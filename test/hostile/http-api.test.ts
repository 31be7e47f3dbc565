/**
 * Hostile input catalogue, HTTP side (docs/hostile-inputs.md): requests a stranger can send the trends API. Every
 * one must be a client error with its code from the closed list (400/404/413/415/431) — never a 500, never an
 * "internal error" log line — and the API must keep answering good requests in between. The trends API runs on the
 * core router over a real loopback server (memory bus and store). The dashboard's own checks in front of it (414 for
 * an over-long request target, counted in moodstream_dashboard_refused_total) are in apps/dashboard/test/app.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger } from '@moodstream/core';
import { topicNames } from '@moodstream/events';
import { createMemoryTrendsStore, createTrendsHttpHandler, createTrendsService, trendsConfig, type TrendsService } from '@moodstream/trends';

const errorLines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    const line = chunk.toString();
    if (/"level":(50|60)/.test(line)) errorLines.push(line);
    done();
  },
});
const logger = createLogger('hostile-http', { level: 'error', destination: sink });

let service: TrendsService;
let server: Server;
let base: string;
let port: number;
const bus = createMemoryBus({ defaultPartitions: 1 });

before(async () => {
  const topics = topicNames(`hostile${Date.now()}.`);
  await bus.ensureTopics([{ name: topics.scored, partitions: 1 }]);
  service = createTrendsService({ bus, store: createMemoryTrendsStore(), logger, config: trendsConfig({}), topics, groupId: 'hostile-http' });
  await service.start();
  const handler = createTrendsHttpHandler(service, { logger, maxConcurrentReplays: 2 });
  server = createServer((req, res) => {
    void handler(req, res).then((handled) => {
      if (!handled) {
        res.writeHead(418);
        res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  await service.stop();
  await bus.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  assert.deepEqual(errorLines, [], 'no hostile request was logged as a server failure');
});

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; code: string | undefined; ms: number }> {
  const start = performance.now();
  const res = await fetch(base + path, init);
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code, ms: performance.now() - start };
}

/** A good request still answers 200 after the hostile ones: nothing else lost. */
async function stillServes(): Promise<void> {
  assert.equal((await call('/api/topics')).status, 200);
}

/** Sends raw bytes (fetch refuses to send some of these) and returns the status line's code. */
function raw(request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
  });
}

describe('hostile requests to the trends API', () => {
  it('malformed percent-encoding in the path is 400 BAD_REQUEST, not 500', async () => {
    for (const path of ['/api/%E0%A4%A', '/api/%', '/api/%zz', '/api/%C0%AF', '/api/%ED%A0%80', '/api/replays/%FF%FE', '/api/alerts/%E0%A4%A/ack']) {
      const method = path.endsWith('/ack') ? 'POST' : 'GET';
      const answer = await call(path, { method });
      assert.equal(answer.status, 400, path);
      assert.equal(answer.code, 'BAD_REQUEST', path);
    }
    await stillServes();
  });

  it('malformed percent-encoding in the query is a 400 naming the field, or read as the literal text it is', async () => {
    const unknownKey = await call('/api/series?%E0%A4%A=1');
    assert.equal(unknownKey.status, 400);
    // A lenient decode leaves a value that matches no topic: an empty series, not an error of ours.
    const value = await call('/api/series?topic=%E0%A4%A');
    assert.ok(value.status === 200 || value.status === 400, `status ${value.status}`);
    assert.equal((await call('/api/alerts?limit=%FF')).status, 400);
    await stillServes();
  });

  it('oversized query strings: a 7 KB value, 1,000 unknown keys or a repeated key are 400 at once; past 16 KB Node answers 431', async () => {
    const long = await call(`/api/series?topic=${'a'.repeat(7_000)}`);
    assert.equal(long.status, 400);
    const many = await call(`/api/series?${Array.from({ length: 1_000 }, (_, i) => `k${i}=v`).join('&')}`);
    assert.equal(many.status, 400);
    assert.ok(many.ms < 1_000, `${many.ms.toFixed(0)} ms`);
    assert.equal((await call('/api/alerts?topic=a&topic=b')).status, 400);
    assert.equal(await raw(`GET /api/series?topic=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 431);
    await stillServes();
  });

  it('a series over the whole epoch at 1-minute buckets is refused, not computed', async () => {
    const answer = await call(`/api/series?window=1m&from=0&to=${Date.UTC(2100, 0, 1)}`);
    assert.equal(answer.status, 400);
    assert.ok(answer.ms < 1_000);
    assert.equal((await call('/api/series?from=yesterday')).status, 400);
    assert.equal((await call('/api/series?from=-5')).status, 400);
  });

  it('replay requests: not JSON, wrong media type, wrong types, extra keys, deep nesting and big bodies are 400/415/413', async () => {
    const post = (body: string, type = 'application/json') => call('/api/replays', { method: 'POST', body, headers: { 'content-type': type } });
    const cases: [string, string, number][] = [
      ['{"topic": "happy", "from": ', 'application/json', 400],
      ['{"topic":"happy","from":0,"to":1}', 'text/plain', 415],
      ['{"topic": 7, "from": "never", "to": [], "speed": -1}', 'application/json', 400],
      ['{"topic":"happy","from":0,"to":60000,"__proto__":{"admin":true}}', 'application/json', 400],
      ['{"topic":"happy","from":60000,"to":0}', 'application/json', 400],
      [`${'['.repeat(5_000)}${']'.repeat(5_000)}`, 'application/json', 400],
      [JSON.stringify({ topic: 'happy', from: 0, to: 60_000, pad: 'x'.repeat(1024 * 1024) }), 'application/json', 413],
      // An object zod's number coercion cannot convert (Number() throws on it): found by fuzz-edges, it answered 500.
      ['{"topic":"happy","from":0,"to":{"toString":""}}', 'application/json', 400],
      ['{"topic":"happy","from":{"valueOf":1,"toString":2},"to":60000,"speed":{"toString":null}}', 'application/json', 400],
    ];
    for (const [body, type, status] of cases) assert.equal((await post(body, type)).status, status, body.slice(0, 60));
    assert.deepEqual((await call('/api/replays')).status, 200);
    await stillServes();
  });

  it('hostile ids in the path (NUL, 10 KB, dot segments) are 404 or 400, never 500', async () => {
    for (const path of ['/api/replays/%00', `/api/replays/${'x'.repeat(10_000)}`, '/api/replays/..%2F..%2Fetc%2Fpasswd', '/api/replays/%3Cscript%3E']) {
      const answer = await call(path);
      assert.ok(answer.status === 404 || answer.status === 400, `${path.slice(0, 40)}: ${answer.status}`);
    }
    assert.equal((await call('/api/alerts/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E/ack', { method: 'POST' })).status, 404);
    await stillServes();
  });
});
