import type { z } from 'zod';
import { ValidationError } from '@moodstream/core';
import { EVENT_TYPES, HEADERS, type EventOf, type EventTypeName } from './topics';

export type Headers = Record<string, string>;

export interface EncodedEvent {
  value: Buffer;
  headers: Headers;
}

/** Readable one-line summary of a zod failure: "path: message; path: message". */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Validates before encoding: nothing malformed is ever produced. */
export function encodeEvent<N extends EventTypeName>(type: N, event: z.input<(typeof EVENT_TYPES)[N]['schema']>): EncodedEvent {
  const { schema, version } = EVENT_TYPES[type];
  const parsed = schema.safeParse(event);
  if (!parsed.success) {
    throw new ValidationError(`refusing to produce an invalid ${type}: ${describeZodError(parsed.error)}`);
  }
  return {
    value: Buffer.from(JSON.stringify(parsed.data)),
    headers: { [HEADERS.eventType]: type, [HEADERS.schemaVersion]: String(version) },
  };
}

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

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
    return { ok: false, reason: `unsupported ${type} schema version ${headerVersion} (this build reads version ${version})` };
  }
  if (value === null || value.length === 0) return { ok: false, reason: `empty ${type} record` };
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `${type} record is not JSON: ${(error as Error).message}` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `invalid ${type}: ${describeZodError(parsed.error)}` };
  return { ok: true, value: parsed.data as EventOf<N> };
}

/** Parses or throws a ValidationError; for fixtures, files and HTTP bodies rather than the bus. */
export function parseEvent<N extends EventTypeName>(type: N, json: unknown): EventOf<N> {
  const parsed = EVENT_TYPES[type].schema.safeParse(json);
  if (!parsed.success) throw new ValidationError(`invalid ${type}: ${describeZodError(parsed.error)}`);
  return parsed.data as EventOf<N>;
}
