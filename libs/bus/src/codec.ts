import { ValidationError } from '@moodstream/core';
import { EVENT_TYPES, HEADERS, describeZodError, type EventOf, type EventTypeName, type Headers } from '@moodstream/events';
import { fastScoredPost } from './fast-scored-post';
import type { EventInput } from './types';

/**
 * Events as Kafka records: JSON bytes plus the type and schema-version headers. Here at the bus edge rather than in
 * libs/events because it needs Node's Buffer and core's ValidationError, which the browser must not load.
 */

export interface EncodedEvent {
  value: Buffer;
  headers: Headers;
}

/**
 * Validates before encoding: nothing malformed is ever produced. The scorer's hot type first takes the same fast path
 * as on the way in (it accepts only what zod accepts, and returns what zod returns); zod decides the rest and words
 * the refusal.
 */
export function encodeEvent<N extends EventTypeName>(type: N, event: EventInput<N>): EncodedEvent {
  const { schema, version } = EVENT_TYPES[type];
  let data: unknown = type === 'ScoredPost' ? fastScoredPost(event) : null;
  if (data === null) {
    const parsed = schema.safeParse(event);
    if (!parsed.success) {
      throw new ValidationError(`refusing to produce an invalid ${type}: ${describeZodError(parsed.error)}`);
    }
    data = parsed.data;
  }
  return {
    value: Buffer.from(JSON.stringify(data)),
    headers: { [HEADERS.eventType]: type, [HEADERS.schemaVersion]: String(version) },
  };
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * A reason can quote the record (an unknown key's name is in zod's message): capped here, because besides the
 * dead-letter header (capped on its own in headers.ts) it goes into a log line and the onDeadLetter report, where a
 * record with a 900 KB key name would otherwise put 900 KB.
 */
export const MAX_DECODE_REASON_CHARS = 1_024;

function failed(reason: string): { ok: false; reason: string } {
  return { ok: false, reason: reason.length > MAX_DECODE_REASON_CHARS ? `${reason.slice(0, MAX_DECODE_REASON_CHARS - 1)}…` : reason };
}

/**
 * Parses a record at the bus edge. Never throws: a bad record becomes a reason string
 * that the consumer sends to the dead-letter topic.
 */
export function decodeEvent<N extends EventTypeName>(
  type: N,
  value: Buffer | string | null,
  headers: Headers = {},
): DecodeResult<EventOf<N>> {
  const { schema, version } = EVENT_TYPES[type];
  const headerVersion = headers[HEADERS.schemaVersion];
  if (headerVersion !== undefined && headerVersion !== String(version)) {
    return failed(`unsupported ${type} schema version ${headerVersion} (this build reads version ${version})`);
  }
  if (value === null || value.length === 0) return failed(`empty ${type} record`);
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (error) {
    return failed(`${type} record is not JSON: ${(error as Error).message}`);
  }
  // The aggregator's hot type first takes a path that accepts only surely valid records; zod decides the rest.
  if (type === 'ScoredPost') {
    const fast = fastScoredPost(json);
    if (fast !== null) return { ok: true, value: fast as EventOf<N> };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return failed(`invalid ${type}: ${describeZodError(parsed.error)}`);
  return { ok: true, value: parsed.data as EventOf<N> };
}

/** Parses or throws a ValidationError; for fixtures, files and HTTP bodies rather than the bus. */
export function parseEvent<N extends EventTypeName>(type: N, json: unknown): EventOf<N> {
  const parsed = EVENT_TYPES[type].schema.safeParse(json);
  if (!parsed.success) throw new ValidationError(`invalid ${type}: ${describeZodError(parsed.error)}`);
  return parsed.data as EventOf<N>;
}
