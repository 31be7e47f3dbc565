import type { z } from 'zod';
import { AlertSchema } from './alert';
import { PostSchema } from './post';
import { ScoredPostSchema } from './scored-post';

/** Kafka topic names. A deployment may prefix them (MOODSTREAM_TOPIC_PREFIX) to share a cluster. */
export const TOPICS = {
  posts: 'moodstream.posts',
  scored: 'moodstream.scored',
  alerts: 'moodstream.alerts',
  deadLetter: 'moodstream.dead-letter',
} as const;

export type TopicKey = keyof typeof TOPICS;

export function topicNames(prefix = ''): { [K in TopicKey]: string } {
  return {
    posts: prefix + TOPICS.posts,
    scored: prefix + TOPICS.scored,
    alerts: prefix + TOPICS.alerts,
    deadLetter: prefix + TOPICS.deadLetter,
  };
}

/** Each event type, its schema and the version of that schema, which travels in a record header. */
export const EVENT_TYPES = {
  Post: { schema: PostSchema, version: 1 },
  ScoredPost: { schema: ScoredPostSchema, version: 1 },
  Alert: { schema: AlertSchema, version: 1 },
} as const satisfies Record<string, { schema: z.ZodTypeAny; version: number }>;

export type EventTypeName = keyof typeof EVENT_TYPES;
export type EventOf<N extends EventTypeName> = z.infer<(typeof EVENT_TYPES)[N]['schema']>;

/**
 * Record headers as the bus hands them over: plain strings by name. A wire shape rather than a Kafka one, so it lives
 * next to the header names instead of with the Buffer codec in libs/bus.
 */
export type Headers = Record<string, string>;

export const HEADERS = {
  eventType: 'ms-event-type',
  schemaVersion: 'ms-schema-version',
  dlqReason: 'ms-dlq-reason',
  dlqSourceTopic: 'ms-dlq-source-topic',
  dlqSourcePartition: 'ms-dlq-source-partition',
  dlqSourceOffset: 'ms-dlq-source-offset',
} as const;
