import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { logLevel } from 'kafkajs';
import { createLogger } from '@moodstream/core';
import { BusError, wrapKafkaError } from '../src/index';
import { HandoffQueue } from '../src/handoff-queue';
import { deadLetterHeaders, headersToStrings } from '../src/headers';
import { kafkaLogCreator } from '../src/kafka-logger';

/** A logger at info whose JSON lines the test reads back. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; lines: () => string[] } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _e, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { logger: createLogger('t', { destination, level: 'info' }), lines: () => text.trim().split('\n') };
}

test('wrapKafkaError maps kafkajs judgement onto the closed codes, names the kafkajs error, and looks through "retries exceeded"', () => {
  const connection = Object.assign(new Error('Connection error: ECONNREFUSED'), { name: 'KafkaJSConnectionError', retriable: true });
  const wrapped = wrapKafkaError('producing 3 record(s) to moodstream.posts', connection);
  assert.ok(wrapped instanceof BusError);
  assert.equal(wrapped.code, 'BUS_KAFKA_UNAVAILABLE');
  assert.equal(wrapped.retriable, true);
  assert.equal(wrapped.message, 'producing 3 record(s) to moodstream.posts: Connection error: ECONNREFUSED (KafkaJSConnectionError)');
  assert.equal(wrapped.cause, connection);

  const exhausted = Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false, originalError: connection });
  const gaveUp = wrapKafkaError('x', exhausted);
  assert.equal(gaveUp.code, 'BUS_KAFKA_UNAVAILABLE');
  assert.equal(gaveUp.retriable, true);
  assert.equal(gaveUp.message, 'x: retries exceeded (KafkaJSNumberOfRetriesExceeded)');
  const authorisation = Object.assign(new Error('not authorised'), { name: 'KafkaJSProtocolError', retriable: false, type: 'TOPIC_AUTHORIZATION_FAILED' });
  const denied = wrapKafkaError('x', authorisation);
  assert.equal(denied.retriable, false);
  assert.equal(denied.code, 'BUS_KAFKA_FAILED');
  assert.equal(denied.message, 'x: not authorised (KafkaJSProtocolError TOPIC_AUTHORIZATION_FAILED)');
  assert.equal(denied.status, 500);
  assert.equal(wrapKafkaError('x', 'a bare string').code, 'BUS_KAFKA_FAILED', 'anything that is not a kafkajs error is permanent');
  assert.equal(wrapKafkaError('y', denied), denied, 'a BusError passes through unchanged');
});

test('kafkajs log lines reach our logger; routine ones are demoted', () => {
  const written = capturedLogger();
  const log = kafkaLogCreator(written.logger)(logLevel.WARN);
  log({ namespace: 'Runner', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 'x', message: 'The group is rebalancing, re-joining', groupId: 'g' } });
  log({ namespace: 'Producer', level: logLevel.WARN, label: 'WARN', log: { timestamp: 'x', message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees' } });
  log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 'x', message: 'Connection timeout', broker: 'b:9092' } });
  const lines = written.lines().map((l) => JSON.parse(l) as { level: number; msg: string; component: string; broker?: string });
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg]),
    [
      [30, 'The group is rebalancing, re-joining'],
      [50, 'Connection timeout (further connection failures are summarised once a minute while they last)'],
    ],
    'rebalancing is info, the idempotent-retries note is debug (hidden), real errors stay errors',
  );
  assert.equal(lines[1]?.component, 'kafkajs');
  assert.equal(lines[1]?.broker, 'b:9092');
});

test('a broker that does not answer is said once per outage and summarised once a minute, not once per retry (virtual time)', () => {
  const written = capturedLogger();
  let clock = 0;
  const log = kafkaLogCreator(written.logger, { now: () => clock })(logLevel.WARN);
  const refused = (message: string) => log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 'x', message, broker: 'b:9092' } });
  // 90 s of outage, kafkajs retrying every 250 ms with two lines per attempt.
  for (; clock < 90_000; clock += 250) {
    refused('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    refused('Failed to connect to seed broker, trying another broker from the list: Connection error: connect ECONNREFUSED 127.0.0.1:9092');
  }
  // Answering for two minutes, then a new outage: said again at once.
  clock += 120_000;
  refused('Connection timeout');
  log({ namespace: 'Runner', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 'x', message: 'Something else broke' } });
  const lines = written.lines().map((l) => JSON.parse(l) as { level: number; msg: string; attempts?: number });
  assert.deepEqual(
    lines.map((l) => l.level),
    [50, 50, 50, 50],
    lines.map((l) => l.msg).join('\n'),
  );
  assert.match(lines[0]?.msg ?? '', /^Connection error: connect ECONNREFUSED .* summarised once a minute/);
  assert.match(lines[1]?.msg ?? '', /^still no connection to Kafka after 60 s \(480 failed attempts in the last minute\)/);
  assert.equal(lines[1]?.attempts, 480);
  assert.match(lines[2]?.msg ?? '', /^Connection timeout \(further/);
  assert.equal(lines[3]?.msg, 'Something else broke', 'other errors are never summarised');
});

test('headers: kafkajs buffers become strings; dead letters keep the originals and add where from and why', () => {
  assert.deepEqual(headersToStrings({ a: Buffer.from('1'), b: 'two', c: [Buffer.from('x'), Buffer.from('last')], d: undefined }), { a: '1', b: 'two', c: 'last' });
  const headers = deadLetterHeaders({ 'ms-schema-version': '1' }, 'r'.repeat(1_500), { topic: 't', partition: 2, offset: '99' });
  assert.equal(headers['ms-schema-version'], '1');
  assert.equal(headers['ms-dlq-source-topic'], 't');
  assert.equal(headers['ms-dlq-source-partition'], '2');
  assert.equal(headers['ms-dlq-source-offset'], '99');
  assert.equal(headers['ms-dlq-reason']?.length, 1_001, 'long reasons are cut');
});

test('HandoffQueue: push resolves only once the reader took the item; close releases a waiting source', async () => {
  const queue = new HandoffQueue<number>();
  let taken = false;
  const pushed = queue.push(1).then(() => {
    taken = true;
  });
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(taken, false, 'nobody read yet');
  const iterator = queue[Symbol.asyncIterator]();
  assert.deepEqual(await iterator.next(), { value: 1, done: false });
  await pushed;
  assert.equal(taken, true);
  const blocked = queue.push(2);
  await iterator.return?.();
  await blocked;

  const failing = new HandoffQueue<number>();
  failing.fail(new Error('broker gone'));
  await assert.rejects(failing[Symbol.asyncIterator]().next(), /broker gone/);
});
