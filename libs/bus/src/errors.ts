import { MoodstreamError, errorMessage, type ErrorCode } from '@moodstream/core';

/** The bus's own codes in the closed list (libs/core error-codes.ts); a BusError takes no other. */
export type BusErrorCode = Extract<ErrorCode, `BUS_${string}`>;

/** A failure talking to the bus. Whether it is retriable follows from its code. */
export class BusError extends MoodstreamError {
  declare readonly code: BusErrorCode;

  constructor(code: BusErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The bus was used after `close()`. */
export class BusClosedError extends BusError {
  constructor(what: string) {
    super('BUS_CLOSED', `${what}: the bus is closed`);
  }
}

interface KafkaJsLikeError {
  name?: unknown;
  retriable?: unknown;
  type?: unknown;
  originalError?: unknown;
  cause?: unknown;
}

function asKafkaJsError(error: unknown): KafkaJsLikeError {
  return typeof error === 'object' && error !== null ? (error as KafkaJsLikeError) : {};
}

/**
 * kafkajs gives up on a transient condition with KafkaJSNumberOfRetriesExceeded, which it marks
 * non-retriable; the condition underneath (a broker away) may still pass, so we keep its flag.
 */
function kafkaRetriable(error: unknown): boolean {
  const e = asKafkaJsError(error);
  if (e.name === 'KafkaJSNumberOfRetriesExceeded') return kafkaRetriable(e.originalError ?? e.cause);
  return e.retriable === true;
}

/** "KafkaJSProtocolError TOPIC_AUTHORIZATION_FAILED": the class and, for broker answers, the protocol error type. */
function kafkaErrorType(error: unknown): string {
  const { name, type } = asKafkaJsError(error);
  return [name, type].filter((part): part is string => typeof part === 'string' && part.length > 0).join(' ') || 'Error';
}

/**
 * Wraps anything kafkajs throws into a BusError that says what we were doing and which kafkajs error it was:
 * BUS_KAFKA_UNAVAILABLE when kafkajs judged the condition transient, BUS_KAFKA_FAILED otherwise.
 */
export function wrapKafkaError(action: string, error: unknown): BusError {
  if (error instanceof BusError) return error;
  const code = kafkaRetriable(error) ? 'BUS_KAFKA_UNAVAILABLE' : 'BUS_KAFKA_FAILED';
  return new BusError(code, `${action}: ${errorMessage(error)} (${kafkaErrorType(error)})`, { cause: error });
}
