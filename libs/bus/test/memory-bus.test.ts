import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBus, createMemoryBus } from '../src/index';
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
