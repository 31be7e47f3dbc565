/**
 * The behaviour every Bus implementation must have, written once and run against each
 * (memory-bus.test.ts, kafka-bus.int.test.ts). Each test uses its own topics and groups.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { MoodstreamError, createLogger } from '@moodstream/core';
import { HEADERS, type Post, type PostInput } from '@moodstream/events';
import type { Bus, BusRecord, Consumer, ConsumerOptions, RawBusRecord } from '../src/index';

export interface ContractHarness {
  /** Shown in every test name, e.g. "kafka 127.0.0.1:9092". */
  label: string;
  /** A bus on which these tests may create and delete their own topics. */
  bus: Bus;
  /** Session timeout for consumers in tests that need a quick hand-over (Kafka only). */
  sessionTimeoutMs?: number;
  /** How long to wait for records to arrive before failing. */
  deliveryTimeoutMs: number;
  /** Removes leftovers that are not topics (Kafka consumer groups). */
  cleanupGroups?: (groupIds: string[]) => Promise<void>;
}

/** The bus logs every dead letter and redelivery; tests provoke them on purpose. LOG_LEVEL=warn shows them. */
export const testLogger = createLogger('bus-test', { level: process.env['LOG_LEVEL'] ?? 'silent' });

class TransientFailure extends MoodstreamError {
  constructor(message: string) {
    super('TOO_MANY_REQUESTS', message);
  }
}

class PermanentFailure extends MoodstreamError {
  constructor(message: string) {
    super('MODEL_FORMAT_INVALID', message);
  }
}

export function makePost(id: string, overrides: Partial<PostInput> = {}): PostInput {
  return {
    id,
    blog: 'contract-blog',
    url: `https://contract-blog.tumblr.com/post/${id}`,
    timestamp: 1_700_000_000_000,
    topics: ['contract'],
    tags: ['contract'],
    text: `post ${id}`,
    imageUrl: null,
    source: 'live',
    label: null,
    ingestedAt: 1_700_000_000_500,
    ...overrides,
  };
}

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function collect<T>(iterable: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const batch of iterable) all.push(...batch);
  return all;
}

const never = new Promise<never>(() => undefined);

export function runBusContract(harness: ContractHarness): void {
  const { bus, label } = harness;
  const createdTopics: string[] = [];
  const createdGroups: string[] = [];
  const running: Consumer[] = [];

  const names = async (count = 2): Promise<{ topic: string; dlq: string; group: string }> => {
    const suffix = randomUUID().slice(0, 8);
    const topic = `contract.${suffix}.posts`;
    const dlq = `contract.${suffix}.dead-letter`;
    createdTopics.push(topic, dlq);
    await bus.ensureTopics([{ name: topic, partitions: 3 }, { name: dlq, partitions: 1 }]);
    createdGroups.push(...Array.from({ length: count }, (_, i) => `contract-${suffix}-${i}`));
    return { topic, dlq, group: `contract-${suffix}-0` };
  };

  const consumer = (options: ConsumerOptions<'Post'>): Consumer => {
    const c = bus.consumer({
      ...(harness.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: harness.sessionTimeoutMs }),
      ...options,
    });
    running.push(c);
    return c;
  };

  type Names = Awaited<ReturnType<typeof names>>;
  /** A Post consumer of the test's topic and group, reading from the beginning. */
  const postConsumer = (n: Names, handler: ConsumerOptions<'Post'>['handler'], extra: Partial<ConsumerOptions<'Post'>> = {}): Consumer =>
    consumer({ groupId: n.group, topics: [n.topic], eventType: 'Post', deadLetterTopic: n.dlq, fromBeginning: true, handler, ...extra });

  after(async () => {
    await Promise.all(running.map((c) => c.stop().catch(() => undefined)));
    await bus.deleteTopics(createdTopics);
    await harness.cleanupGroups?.(createdGroups);
    await bus.close();
  });

  describe(`Bus contract on ${label}`, () => {
    test(`[${label}] keeps each key's records in order across partitions and batches`, async () => {
      const n = await names();
      const { topic } = n;
      const producer = await bus.producer();
      const keys = ['k-alpha', 'k-beta', 'k-gamma', 'k-delta', 'k-epsilon'];
      const perKey = 20;
      for (let round = 0; round < perKey; round += 5) {
        const messages = [];
        for (let i = round; i < round + 5; i++) {
          for (const key of keys) messages.push({ key, value: makePost(`${key}-${i}`, { text: String(i) }) });
        }
        await producer.send(topic, 'Post', messages);
      }
      const seen = new Map<string, number[]>();
      const c = postConsumer(
        n,
        async (records) => {
          assert.ok(records.length <= 7, `a batch of ${records.length} exceeds maxBatchSize 7`);
          for (const r of records) {
            const list = seen.get(r.key ?? '') ?? [];
            list.push(Number(r.value.text));
            seen.set(r.key ?? '', list);
          }
        },
        { maxBatchSize: 7 },
      );
      await c.start();
      await waitFor('all records', () => [...seen.values()].reduce((n, l) => n + l.length, 0) >= keys.length * perKey, harness.deliveryTimeoutMs);
      const expected = Array.from({ length: perKey }, (_, i) => i);
      for (const key of keys) assert.deepEqual(seen.get(key), expected, `records of ${key} out of order or missing`);
      await producer.close();
      await c.stop();
    });

    test(`[${label}] delivers parsed events with key, timestamp and the schema-version header`, async () => {
      const n = await names();
      const { topic } = n;
      const producer = await bus.producer();
      const received: BusRecord<Post>[] = [];
      const c = postConsumer(n, async (r) => void received.push(...r), { fromBeginning: false });
      // Without fromBeginning: start() must not return before the consumer's position is fixed.
      await c.start();
      await producer.send(topic, 'Post', [{ key: 'p-1', value: makePost('p-1'), timestamp: 1_700_000_123_000, headers: { 'x-trace': 'abc' } }]);
      await waitFor('the record', () => received.length === 1, harness.deliveryTimeoutMs);
      const [record] = received;
      assert.equal(record?.topic, topic);
      assert.equal(record?.key, 'p-1');
      assert.equal(record?.timestamp, 1_700_000_123_000);
      assert.equal(record?.value.id, 'p-1');
      assert.deepEqual(record?.value.tags, ['contract']);
      assert.equal(record?.value.noteCount, null, 'schema defaults applied');
      assert.equal(record?.headers[HEADERS.schemaVersion], '1');
      assert.equal(record?.headers[HEADERS.eventType], 'Post');
      assert.equal(record?.headers['x-trace'], 'abc');
      await producer.close();
      await c.stop();
    });

    test(`[${label}] refuses to produce an invalid event and produces none of its list`, async () => {
      const { topic } = await names();
      const producer = await bus.producer();
      await assert.rejects(
        producer.send(topic, 'Post', [{ key: 'ok', value: makePost('ok') }, { key: 'bad', value: makePost('bad', { url: 'ftp://x' }) }]),
        (error: unknown) => error instanceof MoodstreamError && /url: must be an http\(s\) URL/.test(error.message),
      );
      assert.deepEqual(await collect(bus.readByTime({ topic, eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })), []);
      await producer.close();
    });

    test(`[${label}] commits only after the handler resolves: a retriable failure redelivers the batch`, async () => {
      const n = await names();
      const { topic } = n;
      const producer = await bus.producer();
      await producer.send(topic, 'Post', [{ key: 'same', value: makePost('r-1') }, { key: 'same', value: makePost('r-2') }, { key: 'same', value: makePost('r-3') }]);
      const deliveries: string[][] = [];
      let lagDuringFailure = -1;
      const c = postConsumer(n, async (records) => {
          deliveries.push(records.map((r) => r.value.id));
          if (deliveries.length === 1) {
            lagDuringFailure = await c.lag();
            throw new TransientFailure('downstream briefly unavailable');
          }
        });
      await c.start();
      await waitFor('a successful redelivery', () => deliveries.length >= 2, harness.deliveryTimeoutMs);
      assert.equal(lagDuringFailure, 3, 'nothing may be committed while the first attempt fails');
      assert.deepEqual(deliveries[0], ['r-1', 'r-2', 'r-3']);
      assert.deepEqual(deliveries[1], ['r-1', 'r-2', 'r-3'], 'the same records come back');
      await waitFor('the commit', async () => (await c.lag()) === 0, harness.deliveryTimeoutMs);
      await c.stop();

      // A new member of the same group starts after the commit: nothing is delivered twice.
      const again: string[] = [];
      const c2 = postConsumer(n, async (r) => void again.push(...r.map((x) => x.value.id)));
      await c2.start();
      await producer.send(topic, 'Post', [{ key: 'same', value: makePost('r-4') }]);
      await waitFor('the new record', () => again.length >= 1, harness.deliveryTimeoutMs);
      assert.deepEqual(again, ['r-4']);
      await producer.close();
      await c2.stop();
    });

    test(`[${label}] stop() lets the in-flight batch finish and commit`, async () => {
      const n = await names();
      const { topic } = n;
      const producer = await bus.producer();
      await producer.send(topic, 'Post', [{ key: 'k', value: makePost('s-1') }, { key: 'k', value: makePost('s-2') }]);
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let entered = false;
      let sawStopping = false;
      const c = postConsumer(n, async (_records, context) => {
          entered = true;
          await gate;
          sawStopping = context.stopping;
        });
      await c.start();
      await waitFor('the handler to start', () => entered, harness.deliveryTimeoutMs);
      const stopped = c.stop();
      await new Promise((resolve) => setTimeout(resolve, 50));
      release();
      await stopped;
      assert.equal(sawStopping, true, 'the handler can see that the consumer is stopping');
      assert.equal(await c.lag(), 0, 'the finished batch was committed during stop()');
      await producer.close();
    });

    test(`[${label}] a consumer killed mid-batch without committing: another member of the group gets its records`, async () => {
      const n = await names();
      const { topic } = n;
      assert.ok(harness.bus, 'bus');
      const producer = await bus.producer();
      const ids = Array.from({ length: 12 }, (_, i) => `kill-${i}`);
      await producer.send(topic, 'Post', ids.map((id) => ({ key: id, value: makePost(id) })));

      const heldByFirst: string[] = [];
      const first = postConsumer(n, async (records) => {
          heldByFirst.push(...records.map((r) => r.value.id));
          await never; // hangs: the process is "stuck" when it is killed
        });
      await first.start();
      await waitFor('the first member to hold a batch', () => heldByFirst.length > 0, harness.deliveryTimeoutMs);
      assert.equal(typeof first.abort, 'function', 'this bus cannot simulate a crash');
      await first.abort?.();
      assert.equal(await first.lag(), ids.length, 'the killed member committed nothing');

      const receivedBySecond = new Set<string>();
      const second = postConsumer(n, async (records) => {
          for (const r of records) receivedBySecond.add(r.value.id);
        });
      await second.start();
      await waitFor('the second member to receive everything', () => receivedBySecond.size === ids.length, harness.deliveryTimeoutMs);
      for (const id of heldByFirst) assert.ok(receivedBySecond.has(id), `${id}, held by the killed member, was not redelivered`);
      await waitFor('the second member to commit', async () => (await second.lag()) === 0, harness.deliveryTimeoutMs);
      await producer.close();
      await second.stop();
    });

    test(`[${label}] a non-retriable handler error stops the consumer via onCrash, uncommitted, and a member takes over`, async () => {
      const n = await names();
      const { topic } = n;
      const producer = await bus.producer();
      await producer.send(topic, 'Post', [{ key: 'x', value: makePost('c-1') }, { key: 'x', value: makePost('c-2') }]);
      const crashes: unknown[] = [];
      let calls = 0;
      const first = postConsumer(n, async () => {
          calls++;
          throw new PermanentFailure('model file is corrupt');
        }, { onCrash: (error) => crashes.push(error) });
      await first.start();
      await waitFor('onCrash', () => crashes.length === 1, harness.deliveryTimeoutMs);
      assert.equal(calls, 1, 'a non-retriable error is not retried');
      assert.ok(crashes[0] instanceof PermanentFailure);
      const got: string[] = [];
      const second = postConsumer(n, async (r) => void got.push(...r.map((x) => x.value.id)));
      await second.start();
      await waitFor('redelivery to the second member', () => got.length === 2, harness.deliveryTimeoutMs);
      assert.deepEqual(got, ['c-1', 'c-2']);
      await producer.close();
      await second.stop();
    });

    test(`[${label}] a record that fails parsing goes to the dead-letter topic with its reason, and the consumer carries on`, async () => {
      const n = await names();
      const { topic } = n;
      const producer = await bus.producer();
      await producer.send(topic, 'Post', [{ key: 'one', value: makePost('d-1') }]);
      await producer.sendRaw(topic, [{ key: 'one', value: '{"id": "broken", not json', headers: { 'x-origin': 'test' } }]);
      await producer.sendRaw(topic, [{ key: 'one', value: JSON.stringify({ ...makePost('d-bad'), topics: [] }) }]);
      await producer.send(topic, 'Post', [{ key: 'one', value: makePost('d-2') }]);

      const valid: string[] = [];
      const reported: string[] = [];
      const c = postConsumer(n, async (records) => void valid.push(...records.map((r) => r.value.id)), { onDeadLetter: (reason) => reported.push(reason) });
      await c.start();
      await waitFor('both valid records', () => valid.length === 2, harness.deliveryTimeoutMs);
      assert.deepEqual(valid, ['d-1', 'd-2']);
      await waitFor('the commit past the poison records', async () => (await c.lag()) === 0, harness.deliveryTimeoutMs);
      assert.equal(reported.length, 2);

      assert.ok(bus.readRawByTime !== undefined, 'this bus cannot read raw records');
      const letters: RawBusRecord[] = await collect(bus.readRawByTime({ topic: n.dlq, from: 0, to: Number.MAX_SAFE_INTEGER }));
      assert.equal(letters.length, 2);
      const [notJson, badSchema] = letters;
      assert.match(notJson?.headers[HEADERS.dlqReason] ?? '', /^Post record is not JSON/);
      assert.equal(notJson?.headers[HEADERS.dlqSourceTopic], topic);
      assert.match(notJson?.headers[HEADERS.dlqSourcePartition] ?? '', /^\d+$/);
      assert.equal(notJson?.headers[HEADERS.dlqSourceOffset], '1');
      assert.equal(notJson?.headers['x-origin'], 'test', 'original headers are kept');
      assert.equal(notJson?.value?.toString('utf8'), '{"id": "broken", not json', 'original bytes are kept');
      assert.equal(notJson?.key, 'one');
      assert.match(badSchema?.headers[HEADERS.dlqReason] ?? '', /^invalid Post: topics: Array must contain at least 1 element/);
      assert.equal(badSchema?.headers[HEADERS.dlqSourceOffset], '2');
      assert.deepEqual(reported, [notJson?.headers[HEADERS.dlqReason], badSchema?.headers[HEADERS.dlqReason]]);
      await producer.close();
      await c.stop();
    });

    test(`[${label}] readByTime returns exactly the records in [from, to), whatever order they were produced in`, async () => {
      const { topic } = await names();
      const producer = await bus.producer();
      const base = 1_700_000_000_000;
      // Timestamps deliberately out of order within and across keys.
      const minutes = [5, 1, 9, 3, 7, 0, 8, 2, 6, 4, 10, 11];
      await producer.send(
        topic,
        'Post',
        minutes.map((m) => ({ key: `key-${m % 4}`, value: makePost(`t-${m}`, { timestamp: base + m * 60_000 }), timestamp: base + m * 60_000 })),
      );
      await producer.sendRaw(topic, [{ key: 'key-0', value: 'garbage', timestamp: base + 5 * 60_000 }]);
      const from = base + 3 * 60_000;
      const to = base + 8 * 60_000;
      const invalid: string[] = [];
      const batches: number[] = [];
      const records: BusRecord<Post>[] = [];
      for await (const batch of bus.readByTime({ topic, eventType: 'Post', from, to, batchSize: 2, onInvalid: (reason) => invalid.push(reason) })) {
        batches.push(batch.length);
        records.push(...batch);
      }
      assert.deepEqual(records.map((r) => r.value.id).sort(), ['t-3', 't-4', 't-5', 't-6', 't-7']);
      for (const r of records) assert.ok(r.timestamp >= from && r.timestamp < to);
      assert.ok(batches.every((n) => n <= 2), `batches ${batches.join(',')} exceed batchSize 2`);
      assert.equal(invalid.length, 1);
      assert.match(invalid[0] ?? '', /not JSON/);

      assert.deepEqual(await collect(bus.readByTime({ topic, eventType: 'Post', from: base + 100 * 60_000, to: base + 200 * 60_000 })), []);
      assert.deepEqual(await collect(bus.readByTime({ topic, eventType: 'Post', from: to, to: from })), []);
      await producer.close();
    });

    test(`[${label}] lag() counts records the group has not committed`, async () => {
      const n = await names();
      const { topic } = n;
      const producer = await bus.producer();
      const c = postConsumer(n, async () => undefined);
      await producer.send(topic, 'Post', Array.from({ length: 5 }, (_, i) => ({ key: `l-${i}`, value: makePost(`l-${i}`) })));
      assert.equal(await c.lag(), 5);
      await c.start();
      await waitFor('lag to reach 0', async () => (await c.lag()) === 0, harness.deliveryTimeoutMs);
      await producer.close();
      await c.stop();
    });

    test(`[${label}] positions() tells, per assigned partition, the newest event time delivered and what is still undelivered`, async () => {
      const n = await names();
      const { topic } = n;
      const producer = await bus.producer();
      const base = 1_700_000_000_000;
      const count = 30;
      await producer.send(topic, 'Post', Array.from({ length: count }, (_, i) => ({ key: `pos-${i}`, value: makePost(`pos-${i}`), timestamp: base + i * 1_000 })));
      const received: BusRecord<Post>[] = [];
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const c = postConsumer(
        n,
        async (records) => {
          received.push(...records);
          await gate;
        },
        { maxBatchSize: 1 },
      );
      assert.deepEqual(await c.positions(), [], 'no partitions before the group is joined');
      await c.start();
      await waitFor('the first record', () => received.length === 1, harness.deliveryTimeoutMs);
      // The handler holds its one record: that counts as delivered, the rest of every partition does not.
      const held = await c.positions();
      assert.equal(held.length, 3, 'all 3 partitions are assigned to the only member');
      assert.equal(held.reduce((sum, p) => sum + p.undelivered, 0), count - 1);
      const first = received[0] as BusRecord<Post>;
      const started = held.filter((p) => p.newestTimestamp !== null);
      assert.deepEqual(started, [{ topic, partition: first.partition, newestTimestamp: first.timestamp, undelivered: started[0]?.undelivered ?? -1 }]);
      release();
      await waitFor('every record', () => received.length >= count, harness.deliveryTimeoutMs);
      const newest = new Map<number, number>();
      for (const r of received) newest.set(r.partition, Math.max(newest.get(r.partition) ?? -Infinity, r.timestamp));
      await waitFor('positions to show every partition caught up', async () => (await c.positions()).every((p) => p.undelivered === 0), harness.deliveryTimeoutMs);
      const done = (await c.positions()).sort((a, b) => a.partition - b.partition);
      assert.deepEqual(
        done,
        [0, 1, 2].map((partition) => ({ topic, partition, newestTimestamp: newest.get(partition) ?? null, undelivered: 0 })),
      );
      // New records show up as undelivered until the consumer hands them over.
      await producer.send(topic, 'Post', [{ key: 'pos-late', value: makePost('pos-late'), timestamp: base + 100_000 }]);
      await waitFor('the new record', () => received.some((r) => r.value.id === 'pos-late'), harness.deliveryTimeoutMs);
      const late = received.find((r) => r.value.id === 'pos-late') as BusRecord<Post>;
      await waitFor('its position', async () => (await c.positions()).some((p) => p.partition === late.partition && p.newestTimestamp === base + 100_000 && p.undelivered === 0), harness.deliveryTimeoutMs);
      await producer.close();
      await c.stop();
      assert.deepEqual(await c.positions(), [], 'a stopped member holds no partitions');
    });
  });
}
