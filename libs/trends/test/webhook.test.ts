import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger, systemClock, VirtualClock } from '@moodstream/core';
import { AlertSchema, type Alert } from '@moodstream/events';
import { WebhookNotifier } from '../src/webhook';
import { T0 } from './fixtures';

const logger = createLogger('test', { level: 'silent' });

const alert = (id: string): Alert =>
  AlertSchema.parse({
    id,
    topic: 'cats',
    emotion: 'scared',
    window: { size: '1m', start: T0, end: T0 + 60_000 },
    observed: 0.2,
    expected: 0.05,
    count: 200,
    statistic: 9,
    pValue: 1e-10,
    threshold: 0.0003,
    examplePostIds: [],
    firedAt: T0 + 75_000,
  });

describe('WebhookNotifier', () => {
  let server: Server;
  let url: string;
  const received: { path: string; body: Alert }[] = [];
  const plans = new Map<string, number[]>();

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Alert;
        received.push({ path: req.url ?? '', body });
        const plan = plans.get(body.id) ?? [200];
        const status = plan.length > 1 ? plan.shift()! : plan[0]!;
        if (status === 0) return; // hang: the client's timeout must cut it
        res.writeHead(status);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('retries 5xx with backoff until delivered, and gives up on other 4xx at once', async () => {
    plans.set('flaky', [503, 500, 200]);
    plans.set('rejected', [400]);
    const outcomes: string[] = [];
    const notifier = new WebhookNotifier({ url, retries: 5, timeoutMs: 2_000, logger, clock: systemClock, initialDelayMs: 20, maxDelayMs: 50, onResult: (o, a) => outcomes.push(`${a.id}:${o}`) });
    notifier.notify(alert('flaky'));
    notifier.notify(alert('rejected'));
    await notifier.settled();
    assert.deepEqual(outcomes, ['flaky:delivered', 'rejected:failed']);
    assert.equal(received.filter((r) => r.body.id === 'flaky').length, 3);
    assert.equal(received.filter((r) => r.body.id === 'rejected').length, 1);
    assert.equal(received[0]?.path, '/hook');
    assert.deepEqual(AlertSchema.parse(received[0]?.body), alert('flaky'));
  });

  it('never blocks the caller, times out a hanging endpoint and stops retrying on close', async () => {
    plans.set('hang', [0]);
    const outcomes: string[] = [];
    const notifier = new WebhookNotifier({ url, retries: 100, timeoutMs: 100, logger, clock: systemClock, initialDelayMs: 10, maxDelayMs: 20, onResult: (o) => outcomes.push(o) });
    const hangs = () => received.filter((r) => r.body.id === 'hang').length;
    const result: unknown = notifier.notify(alert('hang'));
    // Synchronous and fire-and-forget: nothing to await, and the endpoint has not even been reached yet.
    assert.equal(result, undefined);
    assert.equal(hangs(), 0);
    const deadline = Date.now() + 10_000;
    while (hangs() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(hangs() >= 2, 'timed out and retried');
    await notifier.close();
    assert.deepEqual(outcomes, ['failed']);
  });
});

describe('WebhookNotifier in virtual time', () => {
  /** Lets the notifier's promise chain run up to its next wait on the clock. */
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  /** A fetch answering the given statuses in turn (the last one forever); a thrown Error stands for a network failure. */
  const scriptedFetch = (answers: (number | Error)[]) => {
    const calls: number[] = [];
    const fetchStub = (() => {
      calls.push(calls.length);
      const answer = answers.length > 1 ? answers.shift()! : answers[0]!;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(new Response(null, { status: answer }));
    }) as typeof fetch;
    return { fetchStub, calls };
  };

  it('waits its backoff on the clock it is given, then retries a network failure and a 503 until delivered', async () => {
    const clock = new VirtualClock(T0);
    const { fetchStub, calls } = scriptedFetch([new TypeError('fetch failed'), 503, 204]);
    const outcomes: string[] = [];
    const notifier = new WebhookNotifier({ url: 'http://hook.invalid/', retries: 5, timeoutMs: 1_000, logger, clock, fetch: fetchStub, initialDelayMs: 1_000, maxDelayMs: 1_000, onResult: (o) => outcomes.push(o) });
    notifier.notify(alert('virtual'));
    await settle();
    assert.equal(calls.length, 1);
    // Jitter 0.3: the first wait is between 700 and 1,000 ms.
    clock.advance(699);
    await settle();
    assert.equal(calls.length, 1, 'no retry before the backoff has passed');
    clock.advance(301);
    await settle();
    assert.equal(calls.length, 2);
    clock.advance(1_000);
    await settle();
    await notifier.settled();
    assert.equal(calls.length, 3);
    assert.deepEqual(outcomes, ['delivered']);
  });

  it('gives up at once on a 4xx, and close() ends a backoff wait without waiting it out', async () => {
    const clock = new VirtualClock(T0);
    const rejected = scriptedFetch([404]);
    const outcomes: string[] = [];
    const first = new WebhookNotifier({ url: 'http://hook.invalid/', retries: 5, timeoutMs: 1_000, logger, clock, fetch: rejected.fetchStub, onResult: (o) => outcomes.push(o) });
    first.notify(alert('gone'));
    await first.settled();
    assert.equal(rejected.calls.length, 1);

    const down = scriptedFetch([503]);
    const second = new WebhookNotifier({ url: 'http://hook.invalid/', retries: 100, timeoutMs: 1_000, logger, clock, fetch: down.fetchStub, initialDelayMs: 60_000, onResult: (o) => outcomes.push(o) });
    second.notify(alert('down'));
    second.notify(alert('queued'));
    await settle();
    assert.equal(down.calls.length, 1);
    await second.close(); // the clock never moves: only the abort can end the wait
    assert.equal(down.calls.length, 1);
    assert.deepEqual(outcomes, ['failed', 'failed', 'failed']);
    second.notify(alert('after-close'));
    await settle();
    assert.equal(down.calls.length, 1, 'a closed notifier sends nothing');
  });
});
