import { fnv1a32 } from '@moodstream/core';

/**
 * Same key, same partition: that is what keeps one key's records in order. FNV-1a is enough for
 * the in-memory bus (Kafka uses murmur2; the two need not agree, nothing crosses between them).
 */
export function partitionForKey(key: string, partitions: number): number {
  return fnv1a32(key) % partitions;
}
