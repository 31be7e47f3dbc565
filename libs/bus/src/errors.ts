import { MoodstreamError, errorMessage } from '@moodstream/core';

/** A failure talking to the bus. `retriable` follows the broker client's own judgement. */
export class BusError extends MoodstreamError {
  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** The bus was used after `close()`. */
export class BusClosedError extends BusError {
  constructor(what: string) {
    super('BUS_CLOSED', `${what}: the bus is closed`, { retriable: false });
  }
}

interface KafkaJsLikeError {
  name?: unknown;
  retriable?: unknown;
  type?: unknown;
  originalError?: unknown;
  cause?: unknown;
}

/**
 * kafkajs gives up on a transient condition with KafkaJSNumberOfRetriesExceeded, which it marks
 * non-retriable; the condition underneath (a broker away) may still pass, so we keep its flag.
 */
function kafkaRetriable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as KafkaJsLikeError;
  if (e.name === 'KafkaJSNumberOfRetriesExceeded') {
    return kafkaRetriable(e.originalError ?? e.cause);
  }
  return e.retriable === true;
}

/** Wraps anything kafkajs throws into a BusError that says what we were doing. */
export function wrapKafkaError(action: string, error: unknown): BusError {
  if (error instanceof BusError) return error;
  const type = typeof error === 'object' && error !== null ? (error as KafkaJsLikeError).type : undefined;
  const code = typeof type === 'string' ? `KAFKA_${type}` : 'KAFKA_ERROR';
  return new BusError(code, `${action}: ${errorMessage(error)}`, { retriable: kafkaRetriable(error), cause: error });
}
