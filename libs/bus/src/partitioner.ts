/**
 * Same key, same partition: that is what keeps one key's records in order. FNV-1a is enough for
 * the in-memory bus (Kafka uses murmur2; the two need not agree, nothing crosses between them).
 */
export function partitionForKey(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
