import { z } from 'zod';
import { createLogger, systemClock, type Clock, type Logger } from '@moodstream/core';
import { EVENT_TYPES, describeZodError, type EventTypeName } from '@moodstream/events';
import { BusError } from './errors';
import type { ConsumerOptions } from './types';

/**
 * Every option of both buses and of their consumers, with its default and its limits, checked once when the bus or the
 * consumer is built (like platformatic/kafka's option schemas), relations between fields included. A bad option fails
 * there with BUS_CONFIG naming every bad field, not later as a broker error or a hang.
 */

export interface RetryBackoff {
  initialMs: number;
  maxMs: number;
}

/** Backoff between redeliveries of a batch whose handler failed with a retriable error. */
export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { initialMs: 200, maxMs: 10_000 };
/** Share of each backoff drawn at random, so the members of a group do not retry in lockstep. */
export const RETRY_JITTER = 0.2;

const positiveMs = z.number().int().positive();

const retryBackoffSchema = z
  .object({ initialMs: positiveMs, maxMs: positiveMs })
  .strict()
  .refine((b) => b.initialMs <= b.maxMs, { message: 'must not exceed maxMs', path: ['initialMs'] });

const isLogger = (value: unknown): value is Logger =>
  typeof value === 'object' && value !== null && typeof (value as Logger).child === 'function' && typeof (value as Logger).warn === 'function';
const isClock = (value: unknown): value is Clock =>
  typeof value === 'object' && value !== null && ['now', 'setTimeout', 'clearTimeout'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function');

/** Kafka's legal topic characters; the memory bus keeps to them too, so a prefix that works in tests works on a broker. */
const TOPIC_CHARACTERS = /^[A-Za-z0-9._-]*$/;

/** What both buses take. */
const commonShape = {
  logger: z.custom<Logger>(isLogger, 'must be a pino logger').optional(),
  /** Drives redelivery backoffs (and the Kafka join timeout): virtual in tests. */
  clock: z.custom<Clock>(isClock, 'must be a Clock (now, setTimeout, clearTimeout)').default(systemClock),
  /** Prepended to every topic name and group id, so several deployments or tests can share a cluster. */
  topicPrefix: z.string().max(200).regex(TOPIC_CHARACTERS, 'may hold only letters, digits, ".", "_" and "-"').default(''),
  /** Partitions of topics created without an explicit count. */
  defaultPartitions: z.number().int().min(1).max(10_000).default(3),
  retryBackoff: retryBackoffSchema.default(DEFAULT_RETRY_BACKOFF),
};

const BROKER_ADDRESS = /^[^\s,]+:\d{1,5}$/;

const kafkaSchema = z
  .object({
    ...commonShape,
    brokers: z.array(z.string().regex(BROKER_ADDRESS, 'must be host:port')).min(1, 'needs at least one broker address'),
    clientId: z.string().min(1),
    /** How long an idle fetch waits on the broker for new records (also bounds how fast `start()` returns). */
    maxWaitTimeMs: z.number().int().min(0).max(30_000).default(1_000),
    /** How long `start()` waits to join the group and fetch once. */
    joinTimeoutMs: positiveMs.default(60_000),
  })
  .strict()
  // start() waits for the first fetch after the join, and a fetch may wait maxWaitTimeMs: a shorter limit always fires.
  .refine((o) => o.joinTimeoutMs > o.maxWaitTimeMs, { message: 'must exceed maxWaitTimeMs', path: ['joinTimeoutMs'] });

const memorySchema = z
  .object({
    ...commonShape,
    /** Most records handed from one partition to one batch-processing round. */
    fetchSize: z.number().int().min(1).default(500),
    /**
     * Most bytes of records a topic keeps (shared evenly by its partitions; keys, values and ~256 bytes per record),
     * like Kafka's retention.bytes: without it a long-running embedded process keeps every post it ever saw. By size
     * only, not by age: records carry event times, and a backfill of last month must not vanish on arrival.
     */
    retentionBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  })
  .strict();

export type KafkaBusOptions = z.input<typeof kafkaSchema>;
export type MemoryBusOptions = z.input<typeof memorySchema>;
export type ResolvedKafkaBusOptions = z.output<typeof kafkaSchema> & { logger: Logger };
export type ResolvedMemoryBusOptions = z.output<typeof memorySchema> & { logger: Logger };

function parse<S extends z.ZodTypeAny>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new BusError('BUS_CONFIG', `invalid ${what} options: ${describeZodError(result.error)}`);
  return result.data as z.output<S>;
}

/** A quiet logger of the bus's own unless the app hands its logger over. */
const busLogger = (logger: Logger | undefined, kind: 'kafka' | 'memory'): Logger =>
  (logger ?? createLogger('moodstream-bus', { level: 'warn' })).child({ bus: kind });

export function resolveKafkaBusOptions(input: KafkaBusOptions): ResolvedKafkaBusOptions {
  const options = parse(kafkaSchema, input, 'createKafkaBus');
  return { ...options, logger: busLogger(options.logger, 'kafka') };
}

export function resolveMemoryBusOptions(input: MemoryBusOptions): ResolvedMemoryBusOptions {
  const options = parse(memorySchema, input, 'createMemoryBus');
  return { ...options, logger: busLogger(options.logger, 'memory') };
}

const isFunction = (value: unknown): boolean => typeof value === 'function';
const topicName = z.string().min(1).max(249).regex(TOPIC_CHARACTERS, 'may hold only letters, digits, ".", "_" and "-"');

const consumerSchema = z
  .object({
    groupId: z.string().min(1),
    topics: z.array(topicName).min(1, 'needs at least one topic'),
    eventType: z.enum(Object.keys(EVENT_TYPES) as [EventTypeName, ...EventTypeName[]]),
    deadLetterTopic: topicName,
    fromBeginning: z.boolean().default(false),
    maxBatchSize: z.number().int().min(1).default(100),
    handler: z.custom<ConsumerOptions<EventTypeName>['handler']>(isFunction, 'must be a function'),
    onCrash: z.custom<(error: unknown) => void>(isFunction, 'must be a function').optional(),
    refuse: z.custom<NonNullable<ConsumerOptions<EventTypeName>['refuse']>>(isFunction, 'must be a function').optional(),
    onDeadLetter: z.custom<NonNullable<ConsumerOptions<EventTypeName>['onDeadLetter']>>(isFunction, 'must be a function').optional(),
    // The broker accepts 6 s to 30 min (group.min/max.session.timeout.ms defaults).
    sessionTimeoutMs: z.number().int().min(6_000).max(1_800_000).default(30_000),
    // Within Kafka's default message.max.bytes-based fetch limits (the broker caps a fetch at 50 MiB by default).
    fetchMaxBytesPerPartition: z.number().int().min(1_024).max(50 * 1_048_576).optional(),
    mergePartitions: z.boolean().optional(),
  })
  .strict()
  // A poison record would be dead-lettered into the topic it came from, and read and dead-lettered again for ever.
  .refine((o) => !o.topics.includes(o.deadLetterTopic), { message: 'must not be one of the consumed topics', path: ['deadLetterTopic'] });

/** Consumer options with every default applied: what batch processing and both buses read. */
export type ResolvedConsumerOptions<N extends EventTypeName> = ConsumerOptions<N> &
  Required<Pick<ConsumerOptions<N>, 'fromBeginning' | 'maxBatchSize' | 'sessionTimeoutMs'>>;

export function resolveConsumerOptions<N extends EventTypeName>(options: ConsumerOptions<N>): ResolvedConsumerOptions<N> {
  const parsed = parse(consumerSchema, options, `consumer (group ${String(options.groupId)})`);
  // The parsed copy carries the defaults; the caller's functions are kept as given, typed to their event.
  return { ...options, fromBeginning: parsed.fromBeginning, maxBatchSize: parsed.maxBatchSize, sessionTimeoutMs: parsed.sessionTimeoutMs };
}
