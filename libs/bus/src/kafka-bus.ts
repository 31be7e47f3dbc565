import { randomUUID } from 'node:crypto';
import {
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type Consumer as KafkaJsConsumer,
  type EachBatchPayload,
  type KafkaMessage,
  type Producer as KafkaJsProducer,
} from 'kafkajs';
import { errorMessage, sleep, type Logger } from '@moodstream/core';
import type { EventOf, EventTypeName } from '@moodstream/events';
import { decodeFetchedBatch, deliverDecodedBatch, deliverDecodedBatchesTogether, type DecodedPart, type FetchedBatchOutcome, type FetchedBatchSteps } from './batch-processing';
import { ConsumerLifecycle } from './consumer-lifecycle';
import { decodeRange } from './decode-range';
import { DeliveryTracker } from './delivery-tracker';
import { encodeMessages } from './encode-messages';
import { BusClosedError, BusError, wrapKafkaError } from './errors';
import { HandoffQueue } from './handoff-queue';
import { deadLetterMessage, headersToStrings } from './headers';
import { kafkaLogCreator } from './kafka-logger';
import { resolveConsumerOptions, resolveKafkaBusOptions, type KafkaBusOptions, type ResolvedConsumerOptions, type ResolvedKafkaBusOptions } from './options';
import { TopicNaming } from './topic-naming';
import type { Bus, BusRecord, Consumer, ConsumerOptions, EventInput, OutgoingMessage, PartitionPosition, Producer, RawBusRecord, RawMessage, RawTimeRangeOptions, TimeRangeOptions } from './types';

export type { KafkaBusOptions } from './options';

/**
 * How old a fetched high watermark may be for `positions()` to use it instead of asking the broker. Records
 * produced within this age may count as delivered-up-to-date; the broker answer had the same race (it is read
 * before the handler runs), only shorter.
 */
const END_OFFSET_MAX_AGE_MS = 1_000;
const PARTITION_COUNT_MAX_AGE_MS = 30_000;
/** Batches of one fetch decoded while the handler writes an earlier one (see KafkaConsumer.inFlight). */
const PARTITIONS_DECODED_AHEAD = 3;
/** Records decoded between two yields to the event loop (see FetchedBatchSteps.decodeSlice): ~1 ms of work. */
const DECODE_SLICE = 256;

/** The Kafka bus, with the few cluster-admin extras tests and tools need. */
export interface KafkaBus extends Bus {
  readonly kind: 'kafka';
  readonly brokers: readonly string[];
  /** Removes consumer groups (ids as given to `consumer()`, before the prefix); unknown ones are ignored. */
  deleteGroups(groupIds: string[]): Promise<void>;
}

function toRawRecord(logicalTopic: string, partition: number, message: KafkaMessage): RawBusRecord {
  return {
    topic: logicalTopic,
    partition,
    offset: message.offset,
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value,
    timestamp: Number(message.timestamp),
    headers: headersToStrings(message.headers),
  };
}

class KafkaProducer implements Producer {
  constructor(
    private readonly bus: KafkaBusImpl,
    private readonly producer: KafkaJsProducer,
  ) {}

  async send<N extends EventTypeName>(topic: string, type: N, messages: OutgoingMessage<EventInput<N>>[]): Promise<void> {
    await this.sendRaw(topic, encodeMessages(type, messages));
  }

  async sendRaw(topic: string, messages: RawMessage[]): Promise<void> {
    this.bus.assertOpen(`produce to ${topic}`);
    if (messages.length === 0) return;
    const now = this.bus.options.clock.now();
    try {
      await this.producer.send({
        topic: this.bus.naming.physical(topic),
        acks: -1,
        messages: messages.map((m) => ({
          key: m.key,
          value: m.value,
          timestamp: String(m.timestamp ?? now),
          headers: m.headers ?? {},
        })),
      });
    } catch (error) {
      throw wrapKafkaError(`producing ${messages.length} record(s) to ${topic}`, error);
    }
  }

  async close(): Promise<void> {
    this.bus.forgetProducer(this);
    await this.producer.disconnect().catch((error: unknown) => this.bus.logger.warn({ err: error }, 'producer disconnect failed'));
  }
}

class KafkaConsumer<N extends EventTypeName> implements Consumer {
  private readonly lifecycle: ConsumerLifecycle;
  private readonly consumer: KafkaJsConsumer;
  private readonly groupId: string;
  private readonly logger: Logger;
  private disconnecting: Promise<void> | null = null;
  /** Keyed by physical topic; the assignment comes with each group join. */
  private readonly delivery = new DeliveryTracker();
  /**
   * End offsets the fetches brought along (each batch carries its partition's high watermark), keyed
   * `topic:partition`: `positions()` needs no broker round trip for a partition fetched within END_OFFSET_MAX_AGE_MS.
   */
  private readonly fetchedEnds = new Map<string, { high: bigint; at: number }>();
  private counts: { at: number; list: { topic: string; partitions: number }[] } | null = null;
  /**
   * Settles when the latest batch taken up (in fetch order) is written and committed, or given up. kafkajs hands this
   * consumer the batches of one fetch concurrently (PARTITIONS_DECODED_AHEAD): each decodes in slices (DECODE_SLICE)
   * at once, then waits for the batch before it, so the handler writes one batch at a time, in fetch order, while the
   * next ones decode in its waits on Redis. Every
   * batch stays inside its eachBatch call until written and committed: a rebalance, a stop or the next fetch waits
   * for it as before (kafkajs waits for running eachBatch calls), and the alert owner's hand-over stays clean.
   */
  private inFlight: Promise<void> = Promise.resolve();
  /**
   * mergePartitions: batches decoded and waiting for the handler, in the order they finished decoding; how many are
   * still decoding; whether a handler call runs. The handler is given everything waiting (up to maxBatchSize records)
   * once nothing is mid-decode and no call runs: the batches of one fetch decode interleaved (slices) and finish within
   * a slice or two of each other, so a fetch's partitions usually reach the handler in one call.
   */
  private readonly waiting: { part: DecodedPart<N>; settle: (outcome: FetchedBatchOutcome) => void }[] = [];
  private decoding = 0;
  private delivering = false;

  constructor(
    private readonly bus: KafkaBusImpl,
    private readonly options: ResolvedConsumerOptions<N>,
  ) {
    this.lifecycle = new ConsumerLifecycle(options.groupId);
    this.groupId = bus.naming.group(options.groupId);
    this.logger = bus.logger.child({ groupId: options.groupId });
    const sessionTimeout = options.sessionTimeoutMs;
    this.consumer = bus.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout,
      heartbeatInterval: Math.max(500, Math.min(3_000, Math.floor(sessionTimeout / 5))),
      maxWaitTimeInMs: bus.options.maxWaitTimeMs,
      allowAutoTopicCreation: true,
      retry: { retries: 8 },
      ...(options.fetchMaxBytesPerPartition === undefined
        ? {}
        : // kafkajs's total per fetch (10 MiB by default) must hold a few partitions' worth.
          { maxBytesPerPartition: options.fetchMaxBytesPerPartition, maxBytes: Math.max(10 * 1_048_576, 4 * options.fetchMaxBytesPerPartition) }),
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      const assignment = payload.memberAssignment as Record<string, number[]>;
      this.delivery.assignAll(Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition }))));
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) {
        this.logger.warn({ err: payload.error }, 'kafka consumer failed; kafkajs restarts it');
        return;
      }
      if (this.lifecycle.running) this.crash(wrapKafkaError(`consumer of group ${options.groupId}`, payload.error));
    });
  }

  async start(): Promise<void> {
    this.bus.assertOpen('consumer.start');
    this.lifecycle.start();
    this.bus.trackConsumer(this);
    const ready = this.joinedAndFetching();
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({
        topics: this.options.topics.map((t) => this.bus.naming.physical(t)),
        fromBeginning: this.options.fromBeginning,
      });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // The batches of one fetch (one per partition) are taken up together: each decodes while the one before it
        // writes, and waits for it before its own handler runs (eachBatch), so handlers still run one at a time.
        partitionsConsumedConcurrently: PARTITIONS_DECODED_AHEAD,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      await ready.promise;
    } catch (error) {
      ready.cancel();
      // A stop() during start-up is not a crash: it finishes the stop itself.
      if (this.lifecycle.running) this.lifecycle.crash();
      await this.disconnect();
      throw wrapKafkaError(`starting a consumer of group ${this.options.groupId} on ${this.options.topics.join(', ')}`, error);
    }
  }

  /**
   * Resolves after the group join and the first fetch that follows it: by then the start offsets
   * are resolved, so a record produced after `start()` returns is seen even without fromBeginning.
   */
  private joinedAndFetching(): { promise: Promise<void>; cancel: () => void } {
    const removers: (() => void)[] = [];
    const settled = new AbortController();
    const cancel = (): void => {
      for (const remove of removers.splice(0)) remove();
      settled.abort();
    };
    const promise = new Promise<void>((resolve, reject) => {
      let joined = false;
      removers.push(
        this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
          joined = true;
        }),
        this.consumer.on(this.consumer.events.FETCH, () => {
          if (!joined) return;
          cancel();
          resolve();
        }),
      );
      const timeoutMs = this.bus.options.joinTimeoutMs;
      // The wait ends early once joined (or given up), and when the consumer is stopped meanwhile.
      void sleep(timeoutMs, { clock: this.bus.options.clock, signal: AbortSignal.any([settled.signal, this.lifecycle.signal]) }).then((slept) => {
        if (settled.signal.aborted) return;
        cancel();
        reject(
          slept
            ? new BusError('BUS_JOIN_TIMEOUT', `did not join group ${this.options.groupId} within ${timeoutMs} ms`)
            : new BusError('BUS_CONSUMER_STATE', `consumer of group ${this.options.groupId} was stopped before it joined`),
        );
      });
    });
    return { promise, cancel };
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    if (!this.lifecycle.running) return;
    const high = BigInt(batch.highWatermark);
    const endKey = `${batch.topic}:${batch.partition}`;
    if (high > (this.fetchedEnds.get(endKey)?.high ?? -1n)) this.fetchedEnds.set(endKey, { high, at: this.bus.options.clock.now() });
    else this.fetchedEnds.get(endKey)!.at = this.bus.options.clock.now();
    const logicalTopic = this.bus.naming.logical(batch.topic);
    const steps: FetchedBatchSteps<N> = {
      records: batch.messages.map((m) => toRawRecord(logicalTopic, batch.partition, m)),
      options: this.options,
      context: this.lifecycle.context(() => heartbeat()),
      backoff: this.bus.options.retryBackoff,
      clock: this.bus.options.clock,
      signal: this.lifecycle.signal,
      logger: this.logger,
      decodeSlice: DECODE_SLICE,
      sendDeadLetter: (record, reason) => this.bus.produceInternal(this.options.deadLetterTopic, [deadLetterMessage(record, reason)]),
      shouldContinue: () => this.lifecycle.running && isRunning() && !isStale(),
      mayCommit: () => this.lifecycle.mayCommit && !isStale(),
      onDeliver: (chunk) => {
        const last = chunk.at(-1);
        if (last === undefined) return;
        let newest = -Infinity;
        for (const record of chunk) if (record.timestamp > newest) newest = record.timestamp;
        this.delivery.deliveredChunk(batch.topic, batch.partition, last.offset, newest);
      },
      commit: async (next) => {
        resolveOffset((BigInt(next) - 1n).toString());
        await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
        this.delivery.committed(batch.topic, batch.partition, next);
      },
    };
    if (this.options.mergePartitions === true) return this.mergedBatch(steps);
    // This batch's turn comes after the batch before it in fetch order (taken now, before any await).
    const previous = this.inFlight;
    let done!: () => void;
    this.inFlight = new Promise<void>((resolve) => (done = resolve));
    try {
      // Decoding (and dead letters) overlaps the previous batch's write; an abort must not wait for a hung handler.
      const decoded = await this.lifecycle.untilAborted(decodeFetchedBatch(steps));
      if (decoded === 'aborted') return;
      if ('kind' in decoded) return this.settle(decoded);
      if ((await this.lifecycle.untilAborted(previous)) === 'aborted') return;
      const outcome = await this.lifecycle.untilAborted(deliverDecodedBatch(steps, decoded));
      if (outcome !== 'aborted') this.settle(outcome);
    } finally {
      // Never before the batch ahead: a batch that ends early must not let the one after it overtake that one.
      void previous.then(done);
    }
  }

  /**
   * mergePartitions: decodes this batch (overlapping a handler call that runs), then waits its turn with the other
   * decoded batches (see `waiting`). The batch stays inside its eachBatch call until written and committed, as below.
   */
  private async mergedBatch(steps: FetchedBatchSteps<N>): Promise<void> {
    this.decoding += 1;
    let decoded: Awaited<ReturnType<typeof decodeFetchedBatch<N>>> | 'aborted';
    try {
      decoded = await this.lifecycle.untilAborted(decodeFetchedBatch(steps));
    } finally {
      this.decoding -= 1;
    }
    if (decoded === 'aborted' || 'kind' in decoded) {
      this.deliverWaiting();
      if (decoded !== 'aborted') this.settle(decoded);
      return;
    }
    const part: DecodedPart<N> = { steps, batch: decoded };
    const outcome = await this.lifecycle.untilAborted(
      new Promise<FetchedBatchOutcome>((settle) => {
        this.waiting.push({ part, settle });
        this.deliverWaiting();
      }),
    );
    if (outcome !== 'aborted') this.settle(outcome);
  }

  /** Starts a handler call with the waiting batches, unless one runs or a batch is still decoding (see `waiting`). */
  private deliverWaiting(): void {
    if (this.delivering || this.decoding > 0 || this.waiting.length === 0) return;
    const taken = [this.waiting.shift()!];
    let records = taken[0]!.part.batch.valid.length;
    while (this.waiting.length > 0 && records + this.waiting[0]!.part.batch.valid.length <= this.options.maxBatchSize) {
      const next = this.waiting.shift()!;
      records += next.part.batch.valid.length;
      taken.push(next);
    }
    this.delivering = true;
    void deliverDecodedBatchesTogether(taken.map((t) => t.part))
      .then(
        (outcomes) => taken.forEach((t, i) => t.settle(outcomes[i] ?? { kind: 'interrupted' })),
        (error: unknown) => taken.forEach((t) => t.settle({ kind: 'crashed', error })),
      )
      .finally(() => {
        this.delivering = false;
        this.deliverWaiting();
      });
  }

  private settle(outcome: FetchedBatchOutcome): void {
    if (outcome.kind === 'crashed') this.crash(outcome.error);
  }

  private crash(error: unknown): void {
    if (!this.lifecycle.crash()) return;
    this.logger.error({ err: error }, `consumer stopped after a non-retriable error: ${errorMessage(error)}`);
    // Not awaited here: kafkajs's disconnect waits for the running eachBatch, which called us.
    void this.disconnect().then(() => {
      if (this.options.onCrash !== undefined) this.options.onCrash(error);
    });
  }

  private disconnect(): Promise<void> {
    this.disconnecting ??= this.consumer
      .disconnect()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'consumer disconnect failed'))
      .finally(() => {
        this.delivery.clear();
        this.fetchedEnds.clear();
        this.bus.forgetConsumer(this);
      });
    return this.disconnecting;
  }

  async stop(): Promise<void> {
    const neverStarted = this.lifecycle.state === 'idle';
    this.lifecycle.beginStop();
    if (neverStarted) return;
    await this.disconnect();
    this.lifecycle.finishStop();
  }

  async abort(): Promise<void> {
    const neverStarted = this.lifecycle.state === 'idle';
    this.lifecycle.abort();
    if (neverStarted) return;
    await this.disconnect();
  }

  async lag(): Promise<number> {
    const admin = await this.bus.admin();
    const physicalTopics = this.options.topics.map((t) => this.bus.naming.physical(t));
    try {
      const committed = await admin.fetchOffsets({ groupId: this.groupId, topics: physicalTopics });
      let lag = 0n;
      for (const topic of physicalTopics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const done = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const end of ends) {
          const offset = done.find((p) => p.partition === end.partition)?.offset ?? '-1';
          const from = BigInt(offset) >= 0n ? BigInt(offset) : BigInt(end.low);
          lag += BigInt(end.high) - from;
        }
      }
      return Number(lag);
    } catch (error) {
      throw wrapKafkaError(`measuring the lag of group ${this.options.groupId}`, error);
    }
  }

  /**
   * End offsets come from the latest fetch of the partition when it is younger than END_OFFSET_MAX_AGE_MS (a busy
   * consumer asks the broker nothing: this runs before every batch of the aggregator), else from the broker (one
   * request per topic); where nothing was handed over yet, delivery starts at the committed offset (one more
   * request), else at the start or the end of the partition as `fromBeginning` says.
   */
  async positions(): Promise<PartitionPosition[]> {
    const entries = this.delivery.list();
    if (entries.length === 0) return [];
    const now = this.bus.options.clock.now();
    const fresh = (id: string): bigint | null => {
      const end = this.fetchedEnds.get(id);
      return end !== undefined && now - end.at <= END_OFFSET_MAX_AGE_MS ? end.high : null;
    };
    const ends = new Map<string, { high: bigint; low: bigint }>();
    const topics = [...new Set(entries.filter((e) => e.next === null || fresh(`${e.topic}:${e.partition}`) === null).map((e) => e.topic))];
    for (const entry of entries) {
      const id = `${entry.topic}:${entry.partition}`;
      const high = fresh(id);
      // Delivered-from partitions only: `low` matters only where nothing was delivered yet.
      if (high !== null && entry.next !== null) ends.set(id, { high, low: 0n });
    }
    if (topics.length === 0) return entries.flatMap((entry) => this.position(entry, ends, new Map()));
    const admin = await this.bus.admin();
    try {
      for (const topic of topics) {
        for (const end of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}:${end.partition}`, { high: BigInt(end.high), low: BigInt(end.low) });
      }
      const committed = new Map<string, bigint>();
      if (entries.some((e) => e.next === null)) {
        for (const { topic, partitions } of await admin.fetchOffsets({ groupId: this.groupId, topics })) {
          for (const p of partitions) if (BigInt(p.offset) >= 0n) committed.set(`${topic}:${p.partition}`, BigInt(p.offset));
        }
      }
      return entries.flatMap((entry) => this.position(entry, ends, committed));
    } catch (error) {
      throw wrapKafkaError(`reading the partition positions of group ${this.options.groupId}`, error);
    }
  }

  /** Partition counts change only when an operator adds partitions: asked again after PARTITION_COUNT_MAX_AGE_MS. */
  async partitionCounts(): Promise<{ topic: string; partitions: number }[]> {
    const now = this.bus.options.clock.now();
    if (this.counts !== null && now - this.counts.at <= PARTITION_COUNT_MAX_AGE_MS) return this.counts.list;
    const admin = await this.bus.admin();
    try {
      const list: { topic: string; partitions: number }[] = [];
      for (const topic of this.options.topics) list.push({ topic, partitions: (await admin.fetchTopicOffsets(this.bus.naming.physical(topic))).length });
      this.counts = { at: now, list };
      return list;
    } catch (error) {
      throw wrapKafkaError(`reading the partition counts of ${this.options.topics.join(', ')}`, error);
    }
  }

  private position(entry: ReturnType<DeliveryTracker['list']>[number], ends: Map<string, { high: bigint; low: bigint }>, committed: Map<string, bigint>): PartitionPosition[] {
    const id = `${entry.topic}:${entry.partition}`;
    const end = ends.get(id);
    if (end === undefined) return [];
    const start = committed.get(id) ?? (this.options.fromBeginning ? end.low : end.high);
    return [{ ...this.delivery.position(entry, end.high, start), topic: this.bus.naming.logical(entry.topic) }];
  }
}

class KafkaBusImpl implements KafkaBus {
  readonly kind = 'kafka' as const;
  readonly kafka: Kafka;
  /** Validated, with every default applied (options.ts). */
  readonly options: ResolvedKafkaBusOptions;
  readonly logger: Logger;
  readonly naming: TopicNaming;
  readonly brokers: readonly string[];
  private adminClient: Promise<Admin> | null = null;
  private internalProducer: Promise<KafkaProducer> | null = null;
  private readonly producers = new Set<KafkaProducer>();
  private readonly consumers = new Set<Consumer>();
  private closed = false;

  constructor(input: KafkaBusOptions) {
    const options = resolveKafkaBusOptions(input);
    this.options = options;
    this.brokers = options.brokers;
    this.logger = options.logger;
    this.naming = new TopicNaming(options.topicPrefix);
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...this.brokers],
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(this.logger),
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
    });
  }

  assertOpen(what: string): void {
    if (this.closed) throw new BusClosedError(what);
  }

  admin(): Promise<Admin> {
    this.assertOpen('admin');
    this.adminClient ??= (async () => {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
      } catch (error) {
        this.adminClient = null;
        throw wrapKafkaError(`connecting to Kafka at ${this.brokers.join(',')}`, error);
      }
      return admin;
    })();
    return this.adminClient;
  }

  trackConsumer(consumer: Consumer): void {
    this.consumers.add(consumer);
  }

  forgetConsumer(consumer: Consumer): void {
    this.consumers.delete(consumer);
  }

  forgetProducer(producer: KafkaProducer): void {
    this.producers.delete(producer);
  }

  /** The bus's own producer, for dead letters. */
  async produceInternal(topic: string, messages: RawMessage[]): Promise<void> {
    this.internalProducer ??= this.newProducer().catch((error: unknown) => {
      this.internalProducer = null;
      throw error;
    });
    const producer = await this.internalProducer;
    await producer.sendRaw(topic, messages);
  }

  private async newProducer(): Promise<KafkaProducer> {
    this.assertOpen('producer');
    // Idempotent with one request in flight: broker retries can neither duplicate nor reorder a key's records.
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
      createPartitioner: Partitioners.DefaultPartitioner,
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 10_000 },
    });
    try {
      await producer.connect();
    } catch (error) {
      throw wrapKafkaError(`connecting a producer to Kafka at ${this.brokers.join(',')}`, error);
    }
    const wrapped = new KafkaProducer(this, producer);
    this.producers.add(wrapped);
    return wrapped;
  }

  producer(): Promise<Producer> {
    return this.newProducer();
  }

  consumer<N extends EventTypeName>(options: ConsumerOptions<N>): Consumer {
    this.assertOpen('consumer');
    return new KafkaConsumer(this, resolveConsumerOptions(options));
  }

  async ensureTopics(topics: { name: string; partitions?: number }[]): Promise<void> {
    if (topics.length === 0) return;
    const admin = await this.admin();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({ topic: this.naming.physical(t.name), numPartitions: t.partitions ?? this.options.defaultPartitions })),
      });
    } catch (error) {
      throw wrapKafkaError(`creating topics ${topics.map((t) => t.name).join(', ')}`, error);
    }
  }

  async deleteTopics(names: string[]): Promise<void> {
    if (names.length === 0) return;
    const admin = await this.admin();
    try {
      const existing = new Set(await admin.listTopics());
      const topics = names.map((n) => this.naming.physical(n)).filter((n) => existing.has(n));
      if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    } catch (error) {
      throw wrapKafkaError(`deleting topics ${names.join(', ')}`, error);
    }
  }

  async deleteGroups(groupIds: string[]): Promise<void> {
    if (groupIds.length === 0) return;
    const admin = await this.admin();
    const physical = groupIds.map((g) => this.naming.group(g));
    try {
      const known = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
      const groups = physical.filter((g) => known.has(g));
      if (groups.length > 0) await admin.deleteGroups(groups);
    } catch (error) {
      throw wrapKafkaError(`deleting consumer groups ${groupIds.join(', ')}`, error);
    }
  }

  readByTime<N extends EventTypeName>(options: TimeRangeOptions<N>): AsyncIterable<BusRecord<EventOf<N>>[]> {
    return decodeRange(this.readRawByTime(options), options);
  }

  /**
   * kafkajs has no group-less consumer, so this uses a throwaway group that never commits, seeks
   * each partition to the first offset at or after `from`, reads up to the end offsets seen when
   * the read began, keeps the records whose timestamps fall in [from, to), then deletes the group.
   * Reading to the end (not stopping at the first record past `to`) is what makes the result exact
   * when producers set timestamps out of order.
   */
  async *readRawByTime(options: RawTimeRangeOptions): AsyncIterable<RawBusRecord[]> {
    if (options.from >= options.to) return;
    const admin = await this.admin();
    const physical = this.naming.physical(options.topic);
    const batchSize = Math.max(1, options.batchSize ?? 500);
    const ranges = new Map<number, { start: bigint; end: bigint }>();
    try {
      if (!(await admin.listTopics()).includes(physical)) return;
      const starts = await admin.fetchTopicOffsetsByTimestamp(physical, options.from);
      const ends = await admin.fetchTopicOffsets(physical);
      for (const { partition, offset } of starts) {
        const end = ends.find((e) => e.partition === partition);
        if (end !== undefined && BigInt(offset) < BigInt(end.high)) ranges.set(partition, { start: BigInt(offset), end: BigInt(end.high) });
      }
    } catch (error) {
      throw wrapKafkaError(`looking up offsets of ${options.topic} by time`, error);
    }
    if (ranges.size === 0) return;

    const groupId = this.naming.group(`${this.options.clientId}.read-by-time.${randomUUID()}`);
    const consumer = this.kafka.consumer({ groupId, maxWaitTimeInMs: this.options.maxWaitTimeMs, retry: { retries: 8 } });
    const queue = new HandoffQueue<RawBusRecord[]>();
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart) queue.fail(wrapKafkaError(`reading ${options.topic} by time`, payload.error));
    });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [physical], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, pause }) => {
          const range = ranges.get(batch.partition);
          if (batch.messages.length > 0) resolveOffset(batch.lastOffset());
          if (range === undefined) return;
          const inRange = batch.messages
            .filter((m) => BigInt(m.offset) >= range.start && BigInt(m.offset) < range.end)
            .map((m) => toRawRecord(options.topic, batch.partition, m))
            .filter((r) => r.timestamp >= options.from && r.timestamp < options.to);
          for (let i = 0; i < inRange.length; i += batchSize) {
            await queue.push(inRange.slice(i, i + batchSize));
            await heartbeat();
          }
          if (batch.messages.length > 0 && BigInt(batch.lastOffset()) + 1n >= range.end) {
            ranges.delete(batch.partition);
            pause();
            if (ranges.size === 0) queue.end();
          }
        },
      });
      for (const [partition, range] of ranges) consumer.seek({ topic: physical, partition, offset: range.start.toString() });
      for await (const chunk of queue) yield chunk;
    } catch (error) {
      throw wrapKafkaError(`reading ${options.topic} by time`, error);
    } finally {
      queue.close();
      await consumer.disconnect().catch((error: unknown) => this.logger.warn({ err: error }, 'read-by-time consumer disconnect failed'));
      await admin.deleteGroups([groupId]).catch((error: unknown) => this.logger.debug({ err: error }, 'could not delete the read-by-time group'));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await Promise.all([...this.producers].map((p) => p.close()));
    const admin = this.adminClient;
    this.closed = true;
    if (admin !== null) await (await admin.catch(() => null))?.disconnect();
  }
}

export function createKafkaBus(options: KafkaBusOptions): KafkaBus {
  return new KafkaBusImpl(options);
}
