import type { PartitionPosition } from './types';

interface Delivered {
  topic: string;
  partition: number;
  newestTimestamp: number | null;
  /** The offset after the last record handed over (or committed past), null before the first. */
  next: bigint | null;
}

const key = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/**
 * What a consumer of either bus has handed to its handler, per assigned partition: the newest record timestamp
 * and the next offset. The bus adds the partition's end offset to make a `PartitionPosition`.
 */
export class DeliveryTracker {
  private readonly entries = new Map<string, Delivered>();

  /** A partition became this member's: it starts with nothing delivered. */
  assign(topic: string, partition: number): void {
    this.entries.set(key(topic, partition), { topic, partition, newestTimestamp: null, next: null });
  }

  /** The member's whole assignment after a rebalance: partitions kept keep what they had delivered. */
  assignAll(partitions: readonly { topic: string; partition: number }[]): void {
    const kept = new Set(partitions.map((p) => key(p.topic, p.partition)));
    for (const k of [...this.entries.keys()]) if (!kept.has(k)) this.entries.delete(k);
    for (const p of partitions) if (!this.entries.has(key(p.topic, p.partition))) this.assign(p.topic, p.partition);
  }

  clear(): void {
    this.entries.clear();
  }

  /** Records (one partition's, in offset order) about to be handed to the handler. */
  delivered(records: readonly { topic: string; partition: number; offset: string; timestamp: number }[]): void {
    for (const record of records) {
      const entry = this.entries.get(key(record.topic, record.partition));
      if (entry === undefined) continue;
      if (entry.newestTimestamp === null || record.timestamp > entry.newestTimestamp) entry.newestTimestamp = record.timestamp;
      const next = BigInt(record.offset) + 1n;
      if (entry.next === null || next > entry.next) entry.next = next;
    }
  }

  /**
   * The same for a chunk given by its last offset and newest timestamp (the Kafka consumer's chunks are in offset
   * order): no per-record objects or offset arithmetic on the hot path.
   */
  deliveredChunk(topic: string, partition: number, lastOffset: string, newestTimestamp: number): void {
    const entry = this.entries.get(key(topic, partition));
    if (entry === undefined) return;
    if (entry.newestTimestamp === null || newestTimestamp > entry.newestTimestamp) entry.newestTimestamp = newestTimestamp;
    const next = BigInt(lastOffset) + 1n;
    if (entry.next === null || next > entry.next) entry.next = next;
  }

  /** A commit also covers dead letters the handler never saw. */
  committed(topic: string, partition: number, next: string): void {
    const entry = this.entries.get(key(topic, partition));
    if (entry !== undefined && (entry.next === null || BigInt(next) > entry.next)) entry.next = BigInt(next);
  }

  list(): readonly Delivered[] {
    return [...this.entries.values()];
  }

  /** `start`: where delivery begins for a partition nothing was handed over from yet (committed or reset offset). */
  position(entry: Delivered, end: bigint, start: bigint): PartitionPosition {
    const from = entry.next ?? start;
    return { topic: entry.topic, partition: entry.partition, newestTimestamp: entry.newestTimestamp, undelivered: Number(end > from ? end - from : 0n) };
  }
}
