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

function sameHeaders(a: Headers, b: Headers): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) if (a[key] !== b[key]) return false;
  return true;
}

/**
 * One partition of the in-memory bus: records with absolute offsets and a log start offset that moves forward when
 * retention trims the head, as Kafka's log start offset does. Trimmed slots are compacted away in bulk, so a trim costs
 * amortised O(1) per record rather than a splice per record.
 *
 * Records are kept in columns, not as one object each: the bus holds ~10-16 minutes of posts (hundreds of thousands
 * of records) and replaces them oldest first, so whatever a record costs the JS heap is long-lived old-space churn.
 * An object per record — built with a spread, which gave each one its own hidden class — plus a copy of its headers,
 * a Buffer view and a boxed timestamp came to ~500 bytes of heap a record, and the embedded process's V8 heap kept
 * growing by minutes after the bus reached its cap. Now a record costs its key string and a few array slots: the
 * value is a range of its produce's buffer (a view is made when it is read), a run of equal headers shares one
 * object, and `slice` builds short-lived record objects for the reader.
 */
export class PartitionLog {
  /** Offset of the record in slot `head`. */
  private base = 0;
  private head = 0;
  // One slot per record in each column. Slots before `head` are dropped records, their object columns emptied at
  // once so the values can be collected before the compaction.
  private keys: (string | null)[] = [];
  private buffers: (ArrayBufferLike | null)[] = [];
  private valueStarts: number[] = [];
  private valueLengths: number[] = [];
  private timestamps: number[] = [];
  private headers: (Headers | null)[] = [];
  private retainedBytes = 0;

  /** The log start offset: the oldest offset still readable. */
  get start(): number {
    return this.base;
  }

  /** The offset the next record gets (Kafka's log end offset). */
  get end(): number {
    return this.base + this.keys.length - this.head;
  }

  get bytes(): number {
    return this.retainedBytes;
  }

  get size(): number {
    return this.keys.length - this.head;
  }

  append(record: Omit<StoredRecord, 'offset'>): number {
    const offset = this.end;
    const previous = this.headers[this.headers.length - 1];
    this.keys.push(record.key);
    this.buffers.push(record.value === null ? null : record.value.buffer);
    this.valueStarts.push(record.value === null ? 0 : record.value.byteOffset);
    this.valueLengths.push(record.value === null ? -1 : record.value.length);
    this.timestamps.push(record.timestamp);
    this.headers.push(previous != null && sameHeaders(previous, record.headers) ? previous : { ...record.headers });
    this.retainedBytes += recordBytes(record);
    return offset;
  }

  private record(slot: number): StoredRecord {
    const buffer = this.buffers[slot] ?? null;
    const length = this.valueLengths[slot] as number;
    return {
      offset: this.base + slot - this.head,
      key: this.keys[slot] ?? null,
      value: buffer === null || length < 0 ? null : Buffer.from(buffer, this.valueStarts[slot] as number, length),
      timestamp: this.timestamps[slot] as number,
      headers: this.headers[slot] as Headers,
    };
  }

  /** Records with offsets in [from, to), clipped to what is retained. */
  slice(from: number, to: number = this.end): StoredRecord[] {
    const lo = Math.max(from, this.base) - this.base + this.head;
    const hi = Math.min(to, this.end) - this.base + this.head;
    const out: StoredRecord[] = [];
    for (let slot = lo; slot < hi; slot++) out.push(this.record(slot));
    return out;
  }

  /** Drops the oldest record (retention); the caller decides whether it may. */
  dropFirst(): void {
    if (this.head >= this.keys.length) return;
    const slot = this.head;
    const length = this.valueLengths[slot] as number;
    this.retainedBytes -= (length < 0 ? 0 : length) + (this.keys[slot]?.length ?? 0) + RECORD_OVERHEAD_BYTES;
    // The slots themselves go only at the next compaction: without emptying them a trimmed record (its key, its
    // value's buffer) stayed reachable until then, up to as much again as retention keeps.
    this.keys[slot] = null;
    this.buffers[slot] = null;
    this.headers[slot] = null;
    this.head++;
    this.base++;
    // Compact once the dead prefix outweighs the live part, so the columns do not grow for ever.
    if (this.head > 1024 && this.head * 2 > this.keys.length) {
      const from = this.head;
      this.keys = this.keys.slice(from);
      this.buffers = this.buffers.slice(from);
      this.valueStarts = this.valueStarts.slice(from);
      this.valueLengths = this.valueLengths.slice(from);
      this.timestamps = this.timestamps.slice(from);
      this.headers = this.headers.slice(from);
      this.head = 0;
    }
  }
}
