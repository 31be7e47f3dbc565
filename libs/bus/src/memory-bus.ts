import type { Logger } from '@moodstream/core';
import type { EventOf, EventTypeName } from '@moodstream/events';
import { processFetchedBatch } from './batch-processing';
import { ConsumerLifecycle } from './consumer-lifecycle';
import { decodeRange } from './decode-range';
import { DeliveryTracker } from './delivery-tracker';
import { encodeMessages } from './encode-messages';
import { BusClosedError, BusError } from './errors';
import { deadLetterMessage } from './headers';
import { resolveConsumerOptions, resolveMemoryBusOptions, type MemoryBusOptions, type ResolvedConsumerOptions, type ResolvedMemoryBusOptions } from './options';
import { PartitionLog, type StoredRecord } from './memory-partition-log';
import { copyValues } from './memory-values';
import { partitionForKey } from './partitioner';
import { TopicNaming } from './topic-naming';
import type { Bus, BusRecord, Consumer, ConsumerOptions, EventInput, OutgoingMessage, PartitionPosition, Producer, RawBusRecord, RawMessage, RawTimeRangeOptions, TimeRangeOptions } from './types';

export type { MemoryBusOptions } from './options';

interface MemoryTopic {
  partitions: PartitionLog[];
  /** For records without a key, as Kafka spreads them. */
  nextRoundRobin: number;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** What a group needs of its members. */
interface GroupMember {
  readonly physicalTopics: string[];
  assign(topic: string, partition: number, committed: number | undefined): void;
  notify(): void;
  stop(): Promise<void>;
}

function toBusRecord(logicalTopic: string, partition: number, record: StoredRecord): RawBusRecord {
  return {
    topic: logicalTopic,
    partition,
    offset: String(record.offset),
    key: record.key,
    value: record.value,
    timestamp: record.timestamp,
    headers: { ...record.headers },
  };
}

/**
 * One consumer group: members, the committed offset of each partition, and who owns which partition. Every join and
 * leave recomputes the assignment round-robin (like Kafka's eager round-robin assignor, not a sticky one), so a
 * rebalance may move more partitions than strictly needed; only a partition whose owner changed is handed over
 * (`assign` restarts it from the committed offset), the others keep their member and position.
 */
class MemoryGroup {
  readonly members: GroupMember[] = [];
  /** Topics this group reads or has read: retention keeps what it has not committed on them. */
  readonly topics = new Set<string>();
  readonly committed = new Map<string, number>();
  private readonly owner = new Map<string, GroupMember>();

  constructor(private readonly bus: MemoryBusImpl) {}

  owns(member: GroupMember, topic: string, partition: number): boolean {
    return this.owner.get(tpKey(topic, partition)) === member;
  }

  join(member: GroupMember): void {
    this.members.push(member);
    this.rebalance();
  }

  leave(member: GroupMember): void {
    const index = this.members.indexOf(member);
    if (index >= 0) this.members.splice(index, 1);
    this.rebalance();
  }

  private rebalance(): void {
    const previous = new Map(this.owner);
    this.owner.clear();
    const topics = new Set(this.members.flatMap((m) => m.physicalTopics));
    for (const topic of topics) {
      this.topics.add(topic);
      const subscribers = this.members.filter((m) => m.physicalTopics.includes(topic));
      const partitions = this.bus.topic(topic).partitions.length;
      for (let p = 0; p < partitions; p++) {
        const member = subscribers[p % subscribers.length];
        if (member === undefined) continue;
        this.owner.set(tpKey(topic, p), member);
        if (previous.get(tpKey(topic, p)) !== member) {
          member.assign(topic, p, this.committed.get(tpKey(topic, p)));
        }
      }
    }
    this.bus.wakeAll();
  }
}

class MemoryProducer implements Producer {
  constructor(private readonly bus: MemoryBusImpl) {}

  async send<N extends EventTypeName>(topic: string, type: N, messages: OutgoingMessage<EventInput<N>>[]): Promise<void> {
    this.bus.append(topic, encodeMessages(type, messages));
  }

  async sendRaw(topic: string, messages: RawMessage[]): Promise<void> {
    this.bus.append(topic, messages);
  }

  async close(): Promise<void> {}
}

class MemoryConsumer<N extends EventTypeName> implements Consumer, GroupMember {
  readonly physicalTopics: string[];
  private readonly lifecycle: ConsumerLifecycle;
  private readonly fetchPositions = new Map<string, { topic: string; partition: number; offset: number }>();
  /** Keyed by physical topic, like `fetchPositions`. */
  private readonly delivery = new DeliveryTracker();
  private loop: Promise<void> | null = null;
  /** Ends the wait for new records (a produce, a rebalance, a stop). */
  private wake: (() => void) | null = null;
  private readonly group: MemoryGroup;
  private readonly logger: Logger;

  constructor(
    private readonly bus: MemoryBusImpl,
    private readonly options: ResolvedConsumerOptions<N>,
  ) {
    this.lifecycle = new ConsumerLifecycle(options.groupId);
    this.physicalTopics = options.topics.map((t) => bus.naming.physical(t));
    this.group = bus.group(bus.naming.group(options.groupId));
    this.logger = bus.logger.child({ groupId: options.groupId });
  }

  /** Called by the group when a partition becomes this member's. */
  assign(topic: string, partition: number, committed: number | undefined): void {
    const log = this.bus.topic(topic).partitions[partition];
    const offset = committed ?? (this.options.fromBeginning ? (log?.start ?? 0) : (log?.end ?? 0));
    this.fetchPositions.set(tpKey(topic, partition), { topic, partition, offset });
    this.delivery.assign(topic, partition);
  }

  async start(): Promise<void> {
    this.bus.assertOpen('consumer.start');
    this.lifecycle.start();
    for (const topic of this.physicalTopics) this.bus.topic(topic);
    this.bus.consumers.add(this);
    this.group.join(this);
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.lifecycle.beginStop();
    this.wake?.();
    await this.loop;
    this.leave();
    this.lifecycle.finishStop();
  }

  async abort(): Promise<void> {
    this.lifecycle.abort();
    this.wake?.();
    await this.loop;
    this.leave();
  }

  async lag(): Promise<number> {
    let lag = 0;
    for (const topic of this.physicalTopics) {
      const partitions = this.bus.topic(topic).partitions;
      partitions.forEach((log, partition) => {
        lag += log.end - Math.max(log.start, this.group.committed.get(tpKey(topic, partition)) ?? 0);
      });
    }
    return lag;
  }

  async partitionCounts(): Promise<{ topic: string; partitions: number }[]> {
    return this.physicalTopics.map((topic) => ({ topic: this.bus.naming.logical(topic), partitions: this.bus.topic(topic).partitions.length }));
  }

  async positions(): Promise<PartitionPosition[]> {
    return this.delivery.list().flatMap((entry) => {
      const position = this.fetchPositions.get(tpKey(entry.topic, entry.partition));
      if (position === undefined || !this.group.owns(this, entry.topic, entry.partition)) return [];
      const end = BigInt(this.bus.topic(entry.topic).partitions[entry.partition]?.end ?? 0);
      return [{ ...this.delivery.position(entry, end, BigInt(position.offset)), topic: this.bus.naming.logical(entry.topic) }];
    });
  }

  notify(): void {
    this.wake?.();
  }

  private leave(): void {
    if (this.bus.consumers.delete(this)) this.group.leave(this);
    this.fetchPositions.clear();
    this.delivery.clear();
  }

  /** The next owned partition with records past this member's position, round-robin. */
  private nextFetch(): { topic: string; partition: number; records: RawBusRecord[] } | null {
    const owned = [...this.fetchPositions.values()].filter((p) => this.group.owns(this, p.topic, p.partition));
    for (const position of owned) {
      const log = this.bus.topic(position.topic).partitions[position.partition];
      if (log === undefined || log.end <= position.offset) continue;
      // Rotate so one busy partition cannot starve the others.
      this.fetchPositions.delete(tpKey(position.topic, position.partition));
      this.fetchPositions.set(tpKey(position.topic, position.partition), position);
      const slice = log.slice(position.offset, position.offset + this.bus.options.fetchSize);
      return {
        topic: position.topic,
        partition: position.partition,
        records: slice.map((r) => toBusRecord(this.bus.naming.logical(position.topic), position.partition, r)),
      };
    }
    return null;
  }

  private async run(): Promise<void> {
    while (this.lifecycle.running) {
      const fetched = this.nextFetch();
      if (fetched === null) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      const { topic, partition } = fetched;
      const owns = (): boolean => this.group.owns(this, topic, partition);
      const outcome = await this.lifecycle.untilAborted(
        processFetchedBatch({
          records: fetched.records,
          options: this.options,
          context: this.lifecycle.context(async () => undefined),
          backoff: this.bus.options.retryBackoff,
          clock: this.bus.options.clock,
          signal: this.lifecycle.signal,
          logger: this.logger,
          sendDeadLetter: async (record, reason) => this.bus.append(this.options.deadLetterTopic, [deadLetterMessage(record, reason)]),
          shouldContinue: () => this.lifecycle.running && owns(),
          mayCommit: () => this.lifecycle.mayCommit && owns(),
          // The tracker is keyed by physical topic, the records carry the logical one.
          onDeliver: (chunk) => this.delivery.delivered(chunk.map((r) => ({ topic, partition, offset: r.offset, timestamp: r.timestamp }))),
          commit: async (next) => {
            // A member that lost the partition in a rebalance may not commit for it (Kafka rejects it too).
            if (!owns()) throw new BusError('BUS_NOT_OWNER', `partition ${topic}/${partition} moved to another member`);
            this.group.committed.set(tpKey(topic, partition), Number(next));
            this.delivery.committed(topic, partition, next);
            const position = this.fetchPositions.get(tpKey(topic, partition));
            if (position !== undefined) position.offset = Number(next);
          },
        }),
      );
      if (outcome === 'aborted') return;
      if (outcome.kind === 'crashed') {
        this.lifecycle.crash();
        this.leave();
        this.logger.error({ err: outcome.error }, 'consumer stopped: the handler failed with a non-retriable error');
        this.options.onCrash?.(outcome.error);
        return;
      }
      if (outcome.kind === 'interrupted') {
        // Not committed: start over from the committed offset (another member may own it now).
        const position = this.fetchPositions.get(tpKey(topic, partition));
        if (position !== undefined) position.offset = this.group.committed.get(tpKey(topic, partition)) ?? position.offset;
      }
      // Let producers and timers run between batches, as a network round trip would.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

class MemoryBusImpl implements Bus {
  readonly kind = 'memory' as const;
  /** Validated, with every default applied (options.ts). */
  readonly options: ResolvedMemoryBusOptions;
  readonly logger: Logger;
  readonly naming: TopicNaming;
  readonly consumers = new Set<GroupMember>();
  private readonly topics = new Map<string, MemoryTopic>();
  private readonly groups = new Map<string, MemoryGroup>();
  private closed = false;

  constructor(input: MemoryBusOptions) {
    this.options = resolveMemoryBusOptions(input);
    this.logger = this.options.logger;
    this.naming = new TopicNaming(this.options.topicPrefix);
  }

  assertOpen(what: string): void {
    if (this.closed) throw new BusClosedError(what);
  }

  /** Topics spring into existence on first use, like a broker with auto.create.topics.enable. */
  topic(physicalName: string, partitions = this.options.defaultPartitions): MemoryTopic {
    let topic = this.topics.get(physicalName);
    if (topic === undefined) {
      topic = { partitions: Array.from({ length: Math.max(1, partitions) }, () => new PartitionLog()), nextRoundRobin: 0 };
      this.topics.set(physicalName, topic);
    }
    return topic;
  }

  group(physicalId: string): MemoryGroup {
    let group = this.groups.get(physicalId);
    if (group === undefined) {
      group = new MemoryGroup(this);
      this.groups.set(physicalId, group);
    }
    return group;
  }

  append(logicalTopic: string, messages: RawMessage[]): void {
    this.assertOpen(`produce to ${logicalTopic}`);
    const physical = this.naming.physical(logicalTopic);
    const topic = this.topic(physical);
    const now = this.options.clock.now();
    const touched = new Set<number>();
    const values = copyValues(messages);
    for (const [i, message] of messages.entries()) {
      const partition =
        message.key === null ? topic.nextRoundRobin++ % topic.partitions.length : partitionForKey(message.key, topic.partitions.length);
      (topic.partitions[partition] as PartitionLog).append({
        key: message.key,
        value: values[i] ?? null,
        timestamp: message.timestamp ?? now,
        // Copied by the log unless it equals the previous record's (see PartitionLog).
        headers: message.headers ?? {},
      });
      touched.add(partition);
    }
    for (const partition of touched) this.applyRetention(physical, topic, partition);
    this.wakeAll();
  }

  /**
   * Kafka's retention.bytes for a process with no disk: the oldest records go once a partition holds more than its
   * share of `retentionBytes` — but never a record some consumer group has not committed yet, so a slow consumer
   * delays the trim instead of losing posts (its lag shows it).
   */
  private applyRetention(physical: string, topic: MemoryTopic, partition: number): void {
    const log = topic.partitions[partition] as PartitionLog;
    const capBytes = this.options.retentionBytes / topic.partitions.length;
    const over = (): boolean => log.bytes > capBytes;
    if (!over()) return;
    let keepFrom = log.end;
    for (const group of this.groups.values()) {
      if (!group.topics.has(physical)) continue;
      keepFrom = Math.min(keepFrom, group.committed.get(tpKey(physical, partition)) ?? log.start);
    }
    while (log.start < keepFrom && over()) log.dropFirst();
  }

  wakeAll(): void {
    for (const consumer of this.consumers) consumer.notify();
  }

  async ensureTopics(topics: { name: string; partitions?: number }[]): Promise<void> {
    this.assertOpen('ensureTopics');
    for (const { name, partitions } of topics) this.topic(this.naming.physical(name), partitions);
  }

  async deleteTopics(names: string[]): Promise<void> {
    this.assertOpen('deleteTopics');
    for (const name of names) {
      const physical = this.naming.physical(name);
      this.topics.delete(physical);
      for (const group of this.groups.values()) {
        for (const key of [...group.committed.keys()]) if (key.startsWith(`${physical}\u0000`)) group.committed.delete(key);
      }
    }
  }

  async producer(): Promise<Producer> {
    this.assertOpen('producer');
    return new MemoryProducer(this);
  }

  consumer<N extends EventTypeName>(options: ConsumerOptions<N>): Consumer {
    this.assertOpen('consumer');
    return new MemoryConsumer(this, resolveConsumerOptions(options));
  }

  readByTime<N extends EventTypeName>(options: TimeRangeOptions<N>): AsyncIterable<BusRecord<EventOf<N>>[]> {
    return decodeRange(this.readRawByTime(options), options);
  }

  async *readRawByTime(options: RawTimeRangeOptions): AsyncIterable<RawBusRecord[]> {
    this.assertOpen('readByTime');
    const topic = this.topics.get(this.naming.physical(options.topic));
    if (topic === undefined) return;
    const batchSize = Math.max(1, options.batchSize ?? 500);
    // A snapshot of each partition's end, so records produced during the read do not extend it.
    const ends = topic.partitions.map((log) => log.end);
    let batch: RawBusRecord[] = [];
    for (let partition = 0; partition < ends.length; partition++) {
      const log = topic.partitions[partition];
      for (const record of log === undefined ? [] : log.slice(log.start, ends[partition])) {
        if (record.timestamp < options.from || record.timestamp >= options.to) continue;
        batch.push(toBusRecord(options.topic, partition, record));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** What each topic holds now (records, and bytes as retention counts them): where the bus's memory goes. */
  retained(): MemoryTopicRetention[] {
    return [...this.topics.entries()].map(([physical, topic]) => ({
      topic: this.naming.logical(physical),
      records: topic.partitions.reduce((n, log) => n + log.size, 0),
      bytes: topic.partitions.reduce((n, log) => n + log.bytes, 0),
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    this.closed = true;
  }
}

export interface MemoryTopicRetention {
  topic: string;
  records: number;
  bytes: number;
}

/** What an in-memory bus holds per topic; null for any other bus. */
export function memoryBusRetained(bus: Bus): MemoryTopicRetention[] | null {
  return bus instanceof MemoryBusImpl ? bus.retained() : null;
}

/** The in-process bus for the single-process embedded mode and unit tests: Kafka's semantics, no broker. */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  return new MemoryBusImpl(options);
}
