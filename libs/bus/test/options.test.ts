import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusError, createKafkaBus, createMemoryBus, type ConsumerOptions } from '../src/index';
import { resolveConsumerOptions, resolveMemoryBusOptions } from '../src/options';

function configError(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof BusError && error.code === 'BUS_CONFIG' && error.retriable === false && pattern.test(error.message);
}

const consumerOptions: ConsumerOptions<'Post'> = { groupId: 'g', topics: ['t'], eventType: 'Post', deadLetterTopic: 'dlq', handler: async () => undefined };

test('both buses fill in the same defaults', () => {
  const options = resolveMemoryBusOptions({});
  assert.equal(options.topicPrefix, '');
  assert.equal(options.defaultPartitions, 3);
  assert.deepEqual(options.retryBackoff, { initialMs: 200, maxMs: 10_000 });
  assert.equal(options.fetchSize, 500);
  const consumer = resolveConsumerOptions(consumerOptions);
  assert.equal(consumer.maxBatchSize, 100);
  assert.equal(consumer.sessionTimeoutMs, 30_000);
  assert.equal(consumer.fromBeginning, false);
  assert.equal(consumer.handler, consumerOptions.handler, 'the handler is the caller’s own function');
});

test('a bus is refused when it is built, naming every bad option, relations between fields included', () => {
  assert.throws(
    () => createMemoryBus({ fetchSize: 0, topicPrefix: 'my prefix ', retryBackoff: { initialMs: 5_000, maxMs: 100 } }),
    configError(/^invalid createMemoryBus options: (?=.*fetchSize: )(?=.*topicPrefix: may hold only letters)(?=.*retryBackoff\.initialMs: must not exceed maxMs)/),
  );
  assert.throws(() => createKafkaBus({ brokers: [], clientId: 'c' }), configError(/brokers: needs at least one broker address/));
  assert.throws(() => createKafkaBus({ brokers: ['localhost'], clientId: '' }), configError(/(?=.*brokers\.0: must be host:port)(?=.*clientId: )/));
  assert.throws(
    () => createKafkaBus({ brokers: ['127.0.0.1:9092'], clientId: 'c', maxWaitTimeMs: 5_000, joinTimeoutMs: 1_000 }),
    configError(/joinTimeoutMs: must exceed maxWaitTimeMs/),
  );
  assert.throws(() => createMemoryBus({ partitions: 3 } as never), configError(/Unrecognized key\(s\) in object: 'partitions'/), 'a misspelt option is not silently ignored');
});

test('a consumer is refused when it is created, not when it first fails', async () => {
  const bus = createMemoryBus();
  assert.throws(
    () => bus.consumer({ ...consumerOptions, groupId: '', topics: [], maxBatchSize: 0, sessionTimeoutMs: 1_000 }),
    configError(/^invalid consumer \(group \) options: (?=.*groupId: )(?=.*topics: needs at least one topic)(?=.*maxBatchSize: )(?=.*sessionTimeoutMs: )/),
  );
  assert.throws(
    () => bus.consumer({ ...consumerOptions, topics: ['t', 'dlq'] }),
    configError(/deadLetterTopic: must not be one of the consumed topics/),
    'a poison record would come back to the topic it was read from for ever',
  );
  assert.throws(() => bus.consumer({ ...consumerOptions, eventType: 'Tweet' as 'Post' }), configError(/eventType: /));
  await bus.close();
});
