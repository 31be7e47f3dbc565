import { HEADERS, type Headers } from '@moodstream/events';
import type { RawBusRecord, RawMessage } from './types';

/** kafkajs hands headers over as Buffers (or arrays of them); the bus speaks plain strings. */
export function headersToStrings(raw: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): Headers {
  const headers: Headers = {};
  if (raw === undefined) return headers;
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last === undefined) continue;
    headers[name] = typeof last === 'string' ? last : last.toString('utf8');
  }
  return headers;
}

const MAX_REASON_LENGTH = 1_000;

/** The original headers plus why and where from, so a dead letter can be traced and replayed. */
export function deadLetterHeaders(
  original: Headers,
  reason: string,
  source: { topic: string; partition: number; offset: string },
): Headers {
  return {
    ...original,
    [HEADERS.dlqReason]: reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason,
    [HEADERS.dlqSourceTopic]: source.topic,
    [HEADERS.dlqSourcePartition]: String(source.partition),
    [HEADERS.dlqSourceOffset]: source.offset,
  };
}

/** The record as it goes to the dead-letter topic: same key, bytes and time, the dead-letter headers added. */
export function deadLetterMessage(record: RawBusRecord, reason: string): RawMessage {
  return { key: record.key, value: record.value, timestamp: record.timestamp, headers: deadLetterHeaders(record.headers, reason, record) };
}
