import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, describe, it } from 'node:test';
import { ApiRequestError, BAD_ANSWER, api, isBadAnswer } from '../src/ui/api';
import { MAX_REJECTIONS, recordRejection, rejections } from '../src/ui/contract-log';
import { onServerEvent, type DashboardSocket } from '../src/ui/socket';
import { makeAlert, makePoint } from './support/fake-trends';

/** The browser's side of the contract: answers and pushes are parsed before use, and a bad one is refused and logged. */

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** Every fetch answers with this status and body (a string is sent as it is, anything else as JSON). */
function answer(status: number, body: unknown): string[] {
  const asked: string[] = [];
  globalThis.fetch = async (input: string | URL | Request) => {
    asked.push(String(input));
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status, statusText: status === 200 ? 'OK' : 'Bad Gateway' });
  };
  return asked;
}

function lastRejection() {
  return rejections().at(-1);
}

describe('API answers', () => {
  it('hands on an answer that matches the contract, with its defaults filled', async () => {
    const { replayId: _replayId, acknowledged: _acknowledged, ...bare } = makeAlert({ id: 'a1', topic: 'cats', emotion: 'sad' });
    answer(200, { alerts: [bare] });
    const [alert] = await api.alerts({ limit: 5 });
    assert.equal(alert?.id, 'a1');
    assert.equal(alert?.replayId, null);
    assert.equal(alert?.acknowledged, false);
  });

  it('refuses an answer that breaks the contract, says why, and logs it', async () => {
    const point = { ...makePoint(60_000, 10, { happy: 0.5 }), count: 'ten' };
    answer(200, { topic: 'all', window: '1m', from: 0, to: 120_000, replay: null, points: [point] });
    const before = rejections().length;
    await assert.rejects(api.series({ topic: 'all', window: '1m', from: 0, to: 120_000 }), (error: unknown) => {
      assert.ok(error instanceof ApiRequestError && isBadAnswer(error));
      assert.equal(error.code, BAD_ANSWER);
      assert.match(error.message, /points\.0\.count: Expected number, received string/);
      return true;
    });
    assert.equal(rejections().length, before + 1);
    assert.match(lastRejection()?.source ?? '', /^GET \/api\/series\?topic=all&window=1m/);
  });

  it('refuses a bare list where the contract wraps it, and a body that is not JSON', async () => {
    answer(200, []);
    await assert.rejects(api.topics(), (error: unknown) => isBadAnswer(error));
    answer(200, '<html>oops</html>');
    await assert.rejects(api.replays(), /the body is not JSON/);
    assert.equal(lastRejection()?.problem, 'the body is not JSON');
  });

  it('checks the acknowledged alert and the UI settings too', async () => {
    answer(200, { alert: makeAlert({ id: 'a1', topic: 'cats', emotion: 'sad' }) });
    await assert.rejects(api.acknowledge('a1'), (error: unknown) => isBadAnswer(error));
    answer(200, { explicitThreshold: 2 });
    await assert.rejects(api.uiConfig(), /explicitThreshold: Number must be less than or equal to 1/);
    answer(200, { explicitThreshold: 0.7 });
    assert.deepEqual(await api.uiConfig(), { explicitThreshold: 0.7 });
  });

  it('reports an error answer by its ApiError body, or by status when the body is not one', async () => {
    answer(404, { error: { code: 'NOT_FOUND', message: 'no alert with id "x"' } });
    await assert.rejects(api.acknowledge('x'), { code: 'NOT_FOUND', message: 'no alert with id "x"', status: 404 });
    answer(502, '<html>bad gateway</html>');
    await assert.rejects(api.topics(), { code: 'HTTP_502', message: '502 Bad Gateway' });
  });
});

describe('socket.io messages', () => {
  /** Just enough of a socket.io client socket: listeners by event name, and a way to deliver a message. */
  function fakeSocket(): { socket: DashboardSocket; deliver: (event: string, payload: unknown) => void; listeners: (event: string) => number } {
    const emitter = new EventEmitter();
    const socket = { on: (e: string, l: (p: unknown) => void) => emitter.on(e, l), off: (e: string, l: (p: unknown) => void) => emitter.off(e, l) };
    return { socket: socket as unknown as DashboardSocket, deliver: (e, p) => emitter.emit(e, p), listeners: (e) => emitter.listenerCount(e) };
  }

  it('passes on messages that match their schema and refuses the rest', () => {
    const { socket, deliver, listeners } = fakeSocket();
    const good: string[] = [];
    const bad: string[] = [];
    const stop = onServerEvent(socket, 'series', (update) => good.push(update.topic), (message) => bad.push(message));
    deliver('series', { topic: 'cats', window: '1m', replay: null, point: makePoint(0, 3, {}) });
    deliver('series', { topic: 'cats', window: '7m', replay: null, point: makePoint(0, 3, {}) });
    assert.deepEqual(good, ['cats']);
    assert.equal(bad.length, 1);
    assert.match(bad[0] ?? '', /^a live series update is not what this page expects \(window: Invalid enum value/);
    assert.equal(lastRejection()?.source, 'socket.io series');
    stop();
    assert.equal(listeners('series'), 0, 'stopping removes the listener');
  });

  it('checks alerts and topic lists the same way', () => {
    const { socket, deliver } = fakeSocket();
    const bad: string[] = [];
    const alerts: string[] = [];
    onServerEvent(socket, 'alert', (alert) => alerts.push(alert.id), (message) => bad.push(message));
    onServerEvent(socket, 'topics', () => assert.fail('a malformed topic list got through'), (message) => bad.push(message));
    deliver('alert', makeAlert({ id: 'ok', topic: 't', emotion: 'scared' }));
    deliver('alert', { ...makeAlert({ id: 'bad', topic: 't', emotion: 'scared' }), emotion: 'bored' });
    deliver('topics', { topics: [] });
    assert.deepEqual(alerts, ['ok']);
    assert.equal(bad.length, 2);
  });
});

describe('the rejection log', () => {
  it('keeps only the newest entries', () => {
    for (let i = 0; i < MAX_REJECTIONS + 5; i++) recordRejection('test', `problem ${i}`, i);
    const kept = rejections();
    assert.equal(kept.length, MAX_REJECTIONS);
    assert.equal(kept.at(-1)?.problem, `problem ${MAX_REJECTIONS + 4}`);
  });
});
