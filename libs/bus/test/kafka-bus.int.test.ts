import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { splitList } from '@moodstream/core';
import { createKafkaBus, probeKafka } from '../src/index';
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
