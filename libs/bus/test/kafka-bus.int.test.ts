import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { splitList } from '@moodstream/core';
import { createKafkaBus, probeKafka, type Consumer, type Producer } from '../src/index';
import { makePost, runBusContract, testLogger, waitFor } from './contract';

const brokers = splitList(process.env['KAFKA_BROKERS']);
if (brokers.length === 0) {
  throw new Error('KAFKA_BROKERS is not set: run this through `npm test`, which starts a Kafka broker and sets it');
}
const label = `kafka ${brokers.join(',')}`;
const SESSION_TIMEOUT_MS = 6_000;

test(`[${label}] the broker answers`, async () => {
  const probe = await probeKafka(brokers, 5_000);
  assert.ok(probe.ok, `Kafka at ${brokers.join(',')} does not answer: ${probe.ok ? '' : probe.reason}`);
});

const bus = createKafkaBus({ brokers, clientId: 'bus-contract', retryBackoff: { initialMs: 100, maxMs: 500 }, maxWaitTimeMs: 250, logger: testLogger });
runBusContract({
  label,
  bus,
  sessionTimeoutMs: SESSION_TIMEOUT_MS,
  deliveryTimeoutMs: 45_000,
  cleanupGroups: (groupIds) => bus.deleteGroups(groupIds),
});

// The contract's kill test aborts a consumer in-process; this one kills a real consumer process with SIGKILL.
const killBus = createKafkaBus({ brokers, clientId: 'bus-kill-test', maxWaitTimeMs: 250, logger: testLogger });
after(() => killBus.close());

test(`[${label}] a consumer process SIGKILLed mid-batch: its uncommitted records reach the surviving member`, async () => {
  const suffix = randomUUID().slice(0, 8);
  const topic = `contract.${suffix}.kill`;
  const dlq = `contract.${suffix}.kill-dlq`;
  const group = `contract-${suffix}-kill`;
  await killBus.ensureTopics([{ name: topic, partitions: 3 }, { name: dlq, partitions: 1 }]);
  const producer = await killBus.producer();
  try {
    const ids = Array.from({ length: 30 }, (_, i) => `sigkill-${i}`);
    await producer.send(topic, 'Post', ids.map((id) => ({ key: id, value: makePost(id) })));

    const script = fileURLToPath(new URL('./support/hanging-consumer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, brokers.join(','), topic, dlq, group, String(SESSION_TIMEOUT_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let held: string[] = [];
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const line = output.split('\n').find((l) => l.startsWith('{"held"'));
      if (line !== undefined) held = (JSON.parse(line) as { held: string[] }).held;
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await waitFor('the child consumer to hold a batch', () => held.length > 0, 60_000);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    const received = new Set<string>();
    const survivor = killBus.consumer({
      groupId: group,
      topics: [topic],
      eventType: 'Post',
      deadLetterTopic: dlq,
      fromBeginning: true,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      handler: async (records) => {
        for (const r of records) received.add(r.value.id);
      },
    });
    const started = Date.now();
    await survivor.start();
    await waitFor('the survivor to receive every record', () => received.size === ids.length, 60_000);
    for (const id of held) assert.ok(received.has(id), `${id} was held by the killed process and never redelivered`);
    await waitFor('the survivor to commit', async () => (await survivor.lag()) === 0, 30_000);
    await survivor.stop();
    // Visible in the test output: the hand-over waits for the dead member's session to expire.
    console.log(`hand-over after SIGKILL took ${Date.now() - started} ms (session timeout ${SESSION_TIMEOUT_MS} ms); killed member held ${held.length} records`);
  } finally {
    await producer.close();
    await killBus.deleteTopics([topic, dlq]);
    await killBus.deleteGroups([group]).catch(() => undefined);
  }
});

/** A scratch topic of `partitions` partitions with its dead-letter topic, group and a producer; `drop` removes them. */
async function scratch(name: string, partitions: number) {
  const suffix = randomUUID().slice(0, 8);
  const topic = `contract.${suffix}.${name}`;
  const dlq = `contract.${suffix}.${name}-dlq`;
  const group = `contract-${suffix}-${name}`;
  await killBus.ensureTopics([{ name: topic, partitions }, { name: dlq, partitions: 1 }]);
  const producer = await killBus.producer();
  const options = { groupId: group, topics: [topic], eventType: 'Post' as const, deadLetterTopic: dlq, fromBeginning: true, maxBatchSize: 1_000, sessionTimeoutMs: SESSION_TIMEOUT_MS };
  const drop = async (): Promise<void> => {
    await producer.close();
    await killBus.deleteTopics([topic, dlq]);
    await killBus.deleteGroups([group]).catch(() => undefined);
  };
  return { topic, producer, options, drop };
}

/** Produces a post per id, starts the consumer, and waits until every id was handled and the group committed all. */
async function consumeAll(run: { producer: Producer; topic: string; consumer: Consumer; ids: string[]; handled: string[] }): Promise<void> {
  await run.producer.send(run.topic, 'Post', run.ids.map((id) => ({ key: id, value: makePost(id) })));
  await run.consumer.start();
  await waitFor('every record handled', () => run.handled.length >= run.ids.length, 60_000);
  await waitFor('the group to commit everything', async () => (await run.consumer.lag()) === 0, 30_000);
}

test(`[${label}] mergePartitions: the partitions of a fetch reach the handler in one call, each committed only after it`, async () => {
  const { topic, producer, options, drop } = await scratch('merge', 3);
  const ids = Array.from({ length: 60 }, (_, i) => `merge-${i}`);
  const handled: string[] = [];
  const partitionsPerCall: number[] = [];
  let lagDuringFirst: number | null = null;
  const consumer = killBus.consumer({
    ...options,
    mergePartitions: true,
    handler: async (records) => {
      partitionsPerCall.push(new Set(records.map((r) => r.partition)).size);
      // Inside the first call: nothing of any partition may be committed yet.
      if (partitionsPerCall.length === 1) lagDuringFirst = await consumer.lag();
      for (const r of records) handled.push(r.value.id);
    },
  });
  try {
    await consumeAll({ producer, topic, consumer, ids, handled });
    assert.ok(Math.max(...partitionsPerCall) >= 2, `no handler call held more than one partition: ${partitionsPerCall.join(', ')}`);
    assert.equal(lagDuringFirst, ids.length, 'records were committed before the first handler call finished');
    assert.deepEqual([...handled].sort(), [...ids].sort(), 'each record handled exactly once');
  } finally {
    await consumer.stop();
    await drop();
  }
});

test(`[${label}] the next fetched batch is decoded while the handler still writes the previous one, and each batch is committed only after its own write`, async () => {
  const { topic, producer, options, drop } = await scratch('overlap', 2);
  const ids = Array.from({ length: 40 }, (_, i) => `overlap-${i}`);
  const handled: string[] = [];
  const inFirst = new Set<string>();
  let firstPending = false;
  let decodedMeanwhile: string | null = null;
  let lagDuringFirst: number | null = null;
  const consumer = killBus.consumer({
    ...options,
    // Called while decoding: a record outside the first handler call decoded while that call is pending is the overlap.
    refuse: (post) => {
      if (firstPending && !inFirst.has(post.id)) decodedMeanwhile ??= post.id;
      return null;
    },
    handler: async (records) => {
      if (inFirst.size === 0) {
        for (const r of records) inFirst.add(r.value.id);
        firstPending = true;
        const deadline = Date.now() + 15_000;
        while (decodedMeanwhile === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        // Still inside the first write: nothing of it may be committed yet.
        lagDuringFirst = await consumer.lag();
        firstPending = false;
      }
      for (const r of records) handled.push(r.value.id);
    },
  });
  try {
    await consumeAll({ producer, topic, consumer, ids, handled });
    assert.notEqual(decodedMeanwhile, null, 'no record of a later batch was decoded while the first handler call was pending');
    assert.equal(lagDuringFirst, ids.length, 'records were committed before the first handler call finished');
    assert.deepEqual([...handled].sort(), [...ids].sort(), 'each record handled exactly once');
  } finally {
    await consumer.stop();
    await drop();
  }
});
