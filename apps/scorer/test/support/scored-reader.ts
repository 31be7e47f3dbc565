import type { Bus } from '@moodstream/bus';
import { TOPICS, type ScoredPost } from '@moodstream/events';

export interface ScoredReader {
  /** Every ScoredPost read, by post id (a list, so duplicates show); left empty with `keep: false`. */
  readonly byId: Map<string, ScoredPost[]>;
  /** When each post's first ScoredPost was read (performance.now()); left empty with `keep: false`. */
  readonly arrivals: Map<string, number>;
  /** ScoredPosts read so far, duplicates included. */
  count(): number;
  stop(): Promise<void>;
}

export interface ScoredReaderOptions {
  groupId?: string;
  maxBatchSize?: number;
  /** false: only count (a soak keeps no per-post state). */
  keep?: boolean;
}

/** Reads the scorer's output topic from the beginning, as the aggregator would, and keeps what it read. */
export async function readScored(bus: Bus, options: ScoredReaderOptions = {}): Promise<ScoredReader> {
  const byId = new Map<string, ScoredPost[]>();
  const arrivals = new Map<string, number>();
  const keep = options.keep ?? true;
  let count = 0;
  const consumer = bus.consumer({
    groupId: options.groupId ?? 'reader',
    topics: [TOPICS.scored],
    eventType: 'ScoredPost',
    deadLetterTopic: TOPICS.deadLetter,
    fromBeginning: true,
    ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
    handler: async (records) => {
      const now = performance.now();
      count += records.length;
      if (!keep) return;
      for (const { value } of records) {
        const seen = byId.get(value.postId);
        if (seen === undefined) {
          byId.set(value.postId, [value]);
          arrivals.set(value.postId, now);
        } else {
          seen.push(value);
        }
      }
    },
  });
  await consumer.start();
  return { byId, arrivals, count: () => count, stop: () => consumer.stop() };
}
