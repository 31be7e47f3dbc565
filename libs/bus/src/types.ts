import type { z } from 'zod';
import type { EVENT_TYPES, EventOf, EventTypeName, Headers } from '@moodstream/events';

/** Input shape of an event type (defaults not yet applied). */
export type EventInput<N extends EventTypeName> = z.input<(typeof EVENT_TYPES)[N]['schema']>;

/** A parsed record handed to a consumer. `offset` is a decimal string (Kafka offsets exceed 2^53). */
export interface BusRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: T;
  /** Record timestamp, epoch ms (for posts: the post's publication time). */
  timestamp: number;
  headers: Headers;
}

/** A record as stored, before parsing: what a dead-letter topic holds. */
export type RawBusRecord = BusRecord<Buffer | null>;

export interface OutgoingMessage<T> {
  key: string | null;
  value: T;
  /** Epoch ms; defaults to now. */
  timestamp?: number;
  headers?: Headers;
}

/** A record that is already bytes (dead letters, tests that plant poison). */
export interface RawMessage {
  key: string | null;
  value: Buffer | string | null;
  timestamp?: number;
  headers?: Headers;
}

export interface Producer {
  /** Validates every event against its schema, then produces with acks=all. Resolves when acknowledged. */
  send<N extends EventTypeName>(topic: string, type: N, messages: OutgoingMessage<EventInput<N>>[]): Promise<void>;
  sendRaw(topic: string, messages: RawMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface BatchContext {
  /** True once stop() was called: a long handler may cut work short (it will be redelivered). */
  readonly stopping: boolean;
  /** Extends the session while a long batch is processed. */
  heartbeat(): Promise<void>;
}

export interface ConsumerOptions<N extends EventTypeName> {
  groupId: string;
  topics: string[];
  eventType: N;
  /** Records that fail parsing go here with the reason in the `ms-dlq-reason` header. */
  deadLetterTopic: string;
  fromBeginning?: boolean;
  /** Upper bound of records per handler call. */
  maxBatchSize?: number;
  /**
   * Called with a batch of valid records (per partition, in offset order; several partitions with mergePartitions).
   * Offsets are committed only after it resolves (at-least-once).
   * Throwing a retriable error redelivers the batch after a backoff; a non-retriable error stops the consumer
   * and is reported through `onCrash`.
   */
  handler: (records: BusRecord<EventOf<N>>[], context: BatchContext) => Promise<void>;
  /**
   * A rule the schema cannot state, checked on each valid record before the handler sees it (e.g. an event time far
   * ahead of the consumer's clock): a reason dead-letters the record like a parse failure; null keeps it.
   */
  refuse?: (value: EventOf<N>) => string | null;
  onCrash?: (error: unknown) => void;
  /** Count of records sent to the dead-letter topic, for metrics. */
  onDeadLetter?: (reason: string, record: { topic: string; partition: number; offset: string }) => void;
  /**
   * Kafka only: how long the group waits for a silent member before handing its partitions to
   * another (the broker allows 6000 ms and up). Defaults to 30000.
   */
  sessionTimeoutMs?: number;
  /**
   * Kafka only: most bytes one fetch returns per partition (kafkajs defaults to 1 MiB, about 3,000 ScoredPosts). A
   * consumer whose every batch pays round trips (a Redis write, a commit) goes faster with bigger fetches.
   */
  fetchMaxBytesPerPartition?: number;
  /**
   * Kafka only: the batches of several partitions that are decoded by the time the handler is free go to it in one
   * call (each partition's records in offset order, at most maxBatchSize in all), and each partition is committed
   * after that call. For a handler whose cost is per call and per group of records (one Redis write of a whole
   * fetch instead of one per partition), and which does not care which partitions a call mixes. Default false.
   */
  mergePartitions?: boolean;
}

/** Where a consumer stands in one partition assigned to it (see `Consumer.positions`). */
export interface PartitionPosition {
  topic: string;
  partition: number;
  /**
   * Event time (record timestamp, epoch ms) of the newest record handed to the handler since this member was
   * assigned the partition; null before the first.
   */
  newestTimestamp: number | null;
  /** Records in the partition beyond what was handed to the handler or skipped as dead letters: 0 when caught up. */
  undelivered: number;
}

export interface Consumer {
  /** Resolves once the consumer has joined its group and is fetching. */
  start(): Promise<void>;
  /** Stops fetching, lets the in-flight batch finish and commit, then leaves the group. */
  stop(): Promise<void>;
  /** Records not yet consumed by this group, summed over partitions (consumer lag). */
  lag(): Promise<number>;
  /**
   * One entry per partition currently assigned to this member (none before the group is joined): the event time
   * it has reached and how many records it still holds. Delivery, not commit: the batch in the handler counts as
   * delivered. What an event-time watermark over partitions needs (as Kafka Streams and Flink keep one per partition).
   */
  positions(): Promise<PartitionPosition[]>;
  /**
   * How many partitions each consumed topic has (all of them, not only this member's): with `positions()` of every
   * member, what a group-wide watermark needs (the trends aggregators' alert owner, libs/trends/src/service.ts).
   */
  partitionCounts?(): Promise<{ topic: string; partitions: number }[]>;
  /**
   * Leaves the group at once, like a crash: the in-flight batch is neither finished nor committed,
   * so its records go to another member. For shutdown past its deadline, and for tests.
   */
  abort?(): Promise<void>;
}

export interface TimeRangeOptions<N extends EventTypeName> {
  topic: string;
  eventType: N;
  /** Inclusive lower bound on record timestamp, epoch ms. */
  from: number;
  /** Exclusive upper bound on record timestamp, epoch ms. */
  to: number;
  batchSize?: number;
  /** Invalid records are skipped and reported here (a replay must not stop on one). */
  onInvalid?: (reason: string) => void;
}

export interface RawTimeRangeOptions {
  topic: string;
  /** Inclusive lower bound on record timestamp, epoch ms. */
  from: number;
  /** Exclusive upper bound on record timestamp, epoch ms. */
  to: number;
  batchSize?: number;
}

export interface Bus {
  readonly kind: 'kafka' | 'memory';
  ensureTopics(topics: { name: string; partitions?: number }[]): Promise<void>;
  deleteTopics(names: string[]): Promise<void>;
  producer(): Promise<Producer>;
  consumer<N extends EventTypeName>(options: ConsumerOptions<N>): Consumer;
  /** Reads the records whose timestamps fall in [from, to) without joining a group (for replays). */
  readByTime<N extends EventTypeName>(options: TimeRangeOptions<N>): AsyncIterable<BusRecord<EventOf<N>>[]>;
  /**
   * readByTime without parsing: for looking into a dead-letter topic, whose records fail parsing
   * by definition. Within a partition records come in offset order; partitions are not interleaved.
   */
  readRawByTime?(options: RawTimeRangeOptions): AsyncIterable<RawBusRecord[]>;
  close(): Promise<void>;
}
