import type { Headers } from '@moodstream/events';

export interface StoredRecord {
  offset: number;
  key: string | null;
  value: Buffer | null;
  timestamp: number;
  headers: Headers;
}

/** What a record is taken to cost besides its key and value: the record object, its Buffer and headers. */
const RECORD_OVERHEAD_BYTES = 256;

export function recordBytes(record: Pick<StoredRecord, 'key' | 'value'>): number {
  return (record.value?.length ?? 0) + (record.key?.length ?? 0) + RECORD_OVERHEAD_BYTES;
}

/**
 * One partition of the in-memory bus: records with absolute offsets and a log start offset that moves forward when
 * retention trims the head, as Kafka's log start offset does. Trimmed slots are compacted away in bulk, so a trim costs
 * amortised O(1) per record rather than a splice per record.
 */
export class PartitionLog {
  /** Offset of records[head]. */
  private base = 0;
  private head = 0;
  /** Slots before `head` are dropped records, emptied at once so their values can be collected before the compaction. */
  private records: (StoredRecord | undefined)[] = [];
  private retainedBytes = 0;

  /** The log start offset: the oldest offset still readable. */
  get start(): number {
    return this.base;
  }

  /** The offset the next record gets (Kafka's log end offset). */
  get end(): number {
    return this.base + this.records.length - this.head;
  }

  get bytes(): number {
    return this.retainedBytes;
  }

  get size(): number {
    return this.records.length - this.head;
  }

  append(record: Omit<StoredRecord, 'offset'>): StoredRecord {
    const stored: StoredRecord = { ...record, offset: this.end };
    this.records.push(stored);
    this.retainedBytes += recordBytes(stored);
    return stored;
  }

  /** Records with offsets in [from, to), clipped to what is retained. */
  slice(from: number, to: number = this.end): StoredRecord[] {
    const lo = Math.max(from, this.base) - this.base + this.head;
    const hi = Math.min(to, this.end) - this.base + this.head;
    return hi > lo ? (this.records.slice(lo, hi) as StoredRecord[]) : [];
  }

  /** Drops the oldest record (retention); the caller decides whether it may. */
  dropFirst(): void {
    const record = this.records[this.head];
    if (record === undefined) return;
    this.retainedBytes -= recordBytes(record);
    // The slot itself goes only at the next compaction: without this a trimmed record (its object, its value's buffer)
    // stayed reachable until then, up to as much again as retention keeps (the embedded soak's Buffers kept growing at
    // the full produce rate for minutes after the bus reached its cap).
    this.records[this.head] = undefined;
    this.head++;
    this.base++;
    // Compact once the dead prefix outweighs the live part, so the array does not grow for ever.
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records = this.records.slice(this.head);
      this.head = 0;
    }
  }
}
