import { backoffDelay, errorMessage, isRetriable, type Logger } from '@moodstream/core';
import { decodeEvent, type EventOf, type EventTypeName } from '@moodstream/events';
import type { BatchContext, BusRecord, ConsumerOptions, RawBusRecord } from './types';

export interface RetryBackoff {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { initialMs: 200, maxMs: 10_000 };
export const DEFAULT_MAX_BATCH_SIZE = 100;

export interface FetchedBatchSteps<N extends EventTypeName> {
  /** Records of one partition in offset order. */
  records: RawBusRecord[];
  options: ConsumerOptions<N>;
  context: BatchContext;
  /** Produces the record to the dead-letter topic; resolves once it is stored. */
  sendDeadLetter(record: RawBusRecord, reason: string): Promise<void>;
  /** Commits this partition up to (not including) `nextOffset`. */
  commit(nextOffset: string): Promise<void>;
  /** False once the consumer stops, aborts, or loses the partition: leave the rest uncommitted. */
  shouldContinue(): boolean;
  /**
   * Whether a chunk the handler finished may still be committed: true while stopping gracefully,
   * false after an abort or crash, or when the partition moved to another member.
   */
  mayCommit(): boolean;
  /** Waits for a retry; may end early when the consumer stops. */
  sleep(ms: number): Promise<void>;
  backoff: RetryBackoff;
  logger: Logger;
}

export type FetchedBatchOutcome = { kind: 'done' } | { kind: 'interrupted' } | { kind: 'crashed'; error: unknown };

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/**
 * The consume-side contract both implementations share: parse every record, send the ones that
 * fail to the dead-letter topic, hand the rest to the handler in chunks, and commit a chunk only
 * after the handler resolved. Retriable handler errors retry the same chunk after a backoff; any
 * other error ends the batch uncommitted so the records go to whoever consumes the partition next.
 */
export async function processFetchedBatch<N extends EventTypeName>(steps: FetchedBatchSteps<N>): Promise<FetchedBatchOutcome> {
  const { records, options, logger } = steps;
  const last = records.at(-1);
  if (last === undefined) return { kind: 'done' };

  const valid: BusRecord<EventOf<N>>[] = [];
  for (const record of records) {
    const decoded = decodeEvent(options.eventType, record.value, record.headers);
    if (decoded.ok) {
      valid.push({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        key: record.key,
        value: decoded.value,
        timestamp: record.timestamp,
        headers: record.headers,
      });
      continue;
    }
    try {
      await steps.sendDeadLetter(record, decoded.reason);
    } catch (error) {
      // Without the dead letter stored, skipping the record would lose it: treat like a handler failure.
      if (!isRetriable(error)) return { kind: 'crashed', error };
      logger.warn({ err: error, topic: record.topic, partition: record.partition }, 'dead-letter produce failed; the batch will be fetched again');
      return { kind: 'interrupted' };
    }
    logger.warn({ topic: record.topic, partition: record.partition, offset: record.offset, reason: decoded.reason }, 'record sent to the dead-letter topic');
    options.onDeadLetter?.(decoded.reason, { topic: record.topic, partition: record.partition, offset: record.offset });
  }

  const size = Math.max(1, options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE);
  if (valid.length === 0) return (await commitOrInterrupt(steps, nextOffset(last.offset))) ? { kind: 'done' } : { kind: 'interrupted' };
  for (let start = 0; start < valid.length; start += size) {
    const chunk = valid.slice(start, start + size);
    const isLastChunk = start + size >= valid.length;
    // The last chunk also covers dead letters that trail it.
    const commitTo = nextOffset(isLastChunk ? last.offset : (chunk.at(-1) as BusRecord<unknown>).offset);
    for (let attempt = 0; ; attempt++) {
      if (!steps.shouldContinue()) return { kind: 'interrupted' };
      try {
        await options.handler(chunk, steps.context);
        break;
      } catch (error) {
        if (!isRetriable(error)) return { kind: 'crashed', error };
        const delay = backoffDelay(attempt, steps.backoff.initialMs, steps.backoff.maxMs, 0.2);
        logger.warn(
          { err: error, topic: chunk[0]?.topic, partition: chunk[0]?.partition, attempt: attempt + 1, delayMs: delay },
          `handler failed with a retriable error; redelivering the batch: ${errorMessage(error)}`,
        );
        await steps.sleep(delay);
        await steps.context.heartbeat().catch(() => undefined);
      }
    }
    if (!steps.mayCommit() || !(await commitOrInterrupt(steps, commitTo))) return { kind: 'interrupted' };
  }
  return { kind: 'done' };
}

/** A failed commit (typically a rebalance racing it) only means the records will be seen again. */
async function commitOrInterrupt<N extends EventTypeName>(steps: FetchedBatchSteps<N>, offset: string): Promise<boolean> {
  try {
    await steps.commit(offset);
    return true;
  } catch (error) {
    steps.logger.warn({ err: error, offset }, `commit failed; the records will be delivered again: ${errorMessage(error)}`);
    return false;
  }
}
