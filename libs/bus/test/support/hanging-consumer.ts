/**
 * A consumer process for the kill test: joins a group, reports the records of its first batch
 * on stdout as one JSON line, then hangs in the handler until it is killed.
 * Args: brokers topic deadLetterTopic groupId sessionTimeoutMs
 */
import { createKafkaBus } from '../../src/index';

const [brokers, topic, deadLetterTopic, groupId, sessionTimeoutMs] = process.argv.slice(2);
if (brokers === undefined || topic === undefined || deadLetterTopic === undefined || groupId === undefined) {
  console.error('usage: hanging-consumer.ts brokers topic deadLetterTopic groupId [sessionTimeoutMs]');
  process.exit(2);
}
const bus = createKafkaBus({ brokers: brokers.split(','), clientId: 'hanging-consumer' });
const consumer = bus.consumer({
  groupId,
  topics: [topic],
  eventType: 'Post',
  deadLetterTopic,
  fromBeginning: true,
  sessionTimeoutMs: Number(sessionTimeoutMs ?? 6000),
  handler: async (records) => {
    process.stdout.write(`${JSON.stringify({ held: records.map((r) => r.value.id), pid: process.pid })}\n`);
    await new Promise(() => undefined);
  },
});
await consumer.start();
