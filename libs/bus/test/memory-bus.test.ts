import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MoodstreamError, VirtualClock } from '@moodstream/core';
import { createBus, createMemoryBus, type RetryBackoff } from '../src/index';
import { makePost, runBusContract, testLogger, waitFor } from './contract';

runBusContract({
  label: 'memory',
  bus: createMemoryBus({ retryBackoff: { initialMs: 10, maxMs: 50 }, logger: testLogger }),
  deliveryTimeoutMs: 5_000,
});

test('createBus picks the in-memory bus without brokers and Kafka with them', async () => {
  const memory = createBus({ clientId: 't' });
  assert.equal(memory.kind, 'memory');
  const memoryToo = createBus({ clientId: 't', kafkaBrokers: [] });
  assert.equal(memoryToo.kind, 'memory');
  const kafka = createBus({ clientId: 't', kafkaBrokers: ['127.0.0.1:1'] });
  assert.equal(kafka.kind, 'kafka');
  await Promise.all([memory.close(), memoryToo.close(), kafka.close()]);
});

test('memory bus: a member joining takes over partitions, and each record is processed by one member at a time', async () => {
  const bus = createMemoryBus();
  const producer = await bus.producer();
  const byMember: Record<string, Set<string>> = { a: new Set(), b: new Set() };
  const make = (name: 'a' | 'b') =>
    bus.consumer({
      groupId: 'g',
      topics: ['t'],
      eventType: 'Post',
      deadLetterTopic: 'dlq',
      fromBeginning: true,
      handler: async (records) => {
        for (const r of records) byMember[name]?.add(r.value.id);
      },
    });
  const a = make('a');
  const b = make('b');
  await a.start();
  await b.start();
  const ids = Array.from({ length: 60 }, (_, i) => `m-${i}`);
  await producer.send('t', 'Post', ids.map((id) => ({ key: id, value: makePost(id) })));
  await waitFor('all records', () => byMember['a']!.size + byMember['b']!.size === ids.length, 2_000);
  assert.ok(byMember['a']!.size > 0 && byMember['b']!.size > 0, 'both members got partitions');
  for (const id of byMember['a']!) assert.ok(!byMember['b']!.has(id), `${id} went to both members`);
  await bus.close();
});

test('memory bus: topic prefix isolates buses that share names', async () => {
  const bus = createMemoryBus({ topicPrefix: 'run1.' });
  const producer = await bus.producer();
  await producer.send('posts', 'Post', [{ key: 'a', value: makePost('a') }]);
  const records = [];
  for await (const batch of bus.readByTime({ topic: 'posts', eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })) records.push(...batch);
  assert.equal(records.length, 1);
  assert.equal(records[0]?.topic, 'posts', 'records report the name the app used');
  await bus.close();
  await assert.rejects(bus.producer(), /the bus is closed/);
});

/** Runs queued callbacks until `predicate` holds: the consumer's loop moves on promises and setImmediate, not time. */
async function until(what: string, predicate: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if (await predicate()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

/** A memory bus on a virtual clock holding one record, and a consumer whose handler fails retriably `failures` times. */
async function busyConsumer(retryBackoff: RetryBackoff, failures: number) {
  const clock = new VirtualClock();
  const bus = createMemoryBus({ clock, retryBackoff, logger: testLogger });
  const producer = await bus.producer();
  await producer.send('t', 'Post', [{ key: 'k', value: makePost('v-1') }]);
  const calls: number[] = [];
  const consumer = bus.consumer({
    groupId: 'g',
    topics: ['t'],
    eventType: 'Post',
    deadLetterTopic: 'dlq',
    fromBeginning: true,
    handler: async () => {
      calls.push(clock.now());
      if (calls.length <= failures) throw new MoodstreamError('TOO_MANY_REQUESTS', 'downstream busy');
    },
  });
  return { clock, bus, calls, consumer };
}

test('memory bus on a virtual clock: a retriable handler failure is redelivered after a growing backoff on the injected clock', async () => {
  const { clock, bus, calls, consumer } = await busyConsumer({ initialMs: 1_000, maxMs: 8_000 }, 2);
  await consumer.start();
  await until('the first delivery', () => calls.length === 1);

  // Jitter takes up to 20% off: the first redelivery comes 800 to 1,000 virtual ms later, the second 1,600 to 2,000.
  clock.advance(799);
  await until('the loop to settle', () => clock.pendingTimers() === 1);
  assert.equal(calls.length, 1, 'not redelivered before the backoff has passed');
  clock.advance(201);
  await until('the first redelivery', () => calls.length === 2);
  clock.advance(1_599);
  await until('the loop to settle', () => clock.pendingTimers() === 1);
  assert.equal(calls.length, 2, 'the second backoff is longer');
  clock.advance(401);
  await until('the second redelivery', () => calls.length === 3);
  await until('the commit', async () => (await consumer.lag()) === 0);
  await consumer.stop();
  await bus.close();
});

test('memory bus on a virtual clock: stop() during a redelivery backoff ends it at once and leaves the batch uncommitted', async () => {
  const { clock, bus, calls, consumer } = await busyConsumer({ initialMs: 60_000, maxMs: 60_000 }, Infinity);
  await consumer.start();
  await until('the first delivery and its backoff', () => calls.length === 1 && clock.pendingTimers() === 1);
  clock.advance(1_000);

  await consumer.stop();
  assert.equal(clock.now(), 1_000, 'stop() needed no more (virtual) time');
  assert.equal(clock.pendingTimers(), 0, 'the backoff timer was cancelled');
  assert.equal(calls.length, 1, 'no redelivery after the stop');
  assert.equal(await consumer.lag(), 1, 'the failed batch stays uncommitted for the next member');
  await bus.close();
});
