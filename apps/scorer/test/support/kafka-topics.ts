import { randomBytes } from 'node:crypto';
import { createKafkaBus, type KafkaBus } from '@moodstream/bus';
import { retry, type Logger } from '@moodstream/core';
import { TOPICS } from '@moodstream/events';

export interface ScorerTopics {
  bus: KafkaBus;
  /** The unique topic prefix (MOODSTREAM_TOPIC_PREFIX for a scorer in a child process). */
  prefix: string;
  /** Deletes the groups `scorer` and `reader` and the topics, then closes the bus. */
  cleanup(): Promise<void>;
}

/** The scorer's three topics on a real broker under a unique prefix, so runs never see each other's records. */
export async function scorerTopicsOnKafka(name: string, options: { brokers: string[]; logger: Logger; partitions: number }): Promise<ScorerTopics> {
  const prefix = `${name}-${randomBytes(4).toString('hex')}.`;
  const bus = createKafkaBus({ brokers: options.brokers, clientId: name, topicPrefix: prefix, logger: options.logger });
  const { partitions } = options;
  // A broker on a loaded machine answers a fresh topic's metadata with UNKNOWN_TOPIC_OR_PARTITION for a while after
  // creating it (seen at load 20+, ending a bench run): retriable, so asked again rather than failing the run.
  await retry(() => bus.ensureTopics([{ name: TOPICS.posts, partitions }, { name: TOPICS.scored, partitions }, { name: TOPICS.deadLetter }]), {
    retries: 5,
    initialDelayMs: 500,
    maxDelayMs: 5_000,
  });
  return {
    bus,
    prefix,
    cleanup: async () => {
      await bus.deleteGroups(['scorer', 'reader']).catch(() => undefined);
      await bus.deleteTopics([TOPICS.posts, TOPICS.scored, TOPICS.deadLetter]).catch(() => undefined);
      await bus.close();
    },
  };
}
