import { AbortedError, errorMessage, isRetriable, retry, type Clock, type Logger } from '@moodstream/core';
import type { EventOf, EventTypeName } from '@moodstream/events';
import { decodeEvent } from './codec';
import { RETRY_JITTER, type ResolvedConsumerOptions, type RetryBackoff } from './options';
import type { BatchContext, BusRecord, RawBusRecord } from './types';

export interface FetchedBatchSteps<N extends EventTypeName> {
  /** Records of one partition in offset order. */
  records: RawBusRecord[];
  options: ResolvedConsumerOptions<N>;
  context: BatchContext;
  /** Produces the record to the dead-letter topic; resolves once it is stored. */
  sendDeadLetter(record: RawBusRecord, reason: string): Promise<void>;
  /** Told of every chunk just before the handler gets it (the consumer's per-partition positions). */
  onDeliver?(records: readonly BusRecord<unknown>[]): void;
  /** Commits this partition up to (not including) `nextOffset`. */
  commit(nextOffset: string): Promise<void>;
  /** False once the consumer stops, aborts, or loses the partition: leave the rest uncommitted. */
  shouldContinue(): boolean;
  /**
   * Whether a chunk the handler finished may still be committed: true while stopping gracefully,
   * false after an abort or crash, or when the partition moved to another member.
   */
  mayCommit(): boolean;
  backoff: RetryBackoff;
  /** The clock redelivery backoffs wait on. */
  clock: Clock;
  /** The consumer's: fires on stop, abort or crash and cuts a redelivery backoff short. */
  signal: AbortSignal;
  logger: Logger;
  /** For the backoff's jitter; tests pin it. */
  random?: () => number;
  /**
   * Decode yields to the event loop before each slice of this many records (none: decodes in one go). The Kafka
   * consumer decodes the next batch while the handler writes the one before: slices let the handler's replies (and
   * the CPU work after them) in between, so the decoding fills the handler's waits instead of delaying its writes.
   */
  decodeSlice?: number;
}

export type FetchedBatchOutcome = { kind: 'done' } | { kind: 'interrupted' } | { kind: 'crashed'; error: unknown };

function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/** A fetched batch after decoding: its valid records, and where a commit of the whole batch goes (past its dead letters). */
export interface DecodedBatch<N extends EventTypeName> {
  valid: BusRecord<EventOf<N>>[];
  /** Offset of the batch's last record, valid or not. */
  lastOffset: string;
}

/**
 * The consume-side contract both implementations share: parse every record, send the ones that
 * fail to the dead-letter topic, hand the rest to the handler in chunks, and commit a chunk only
 * after the handler resolved. Retriable handler errors retry the same chunk after a backoff; any
 * other error ends the batch uncommitted so the records go to whoever consumes the partition next.
 * Two phases (decodeFetchedBatch, then deliverDecodedBatch), so the Kafka consumer can decode the next fetched batch
 * while the handler still writes this one.
 */
export async function processFetchedBatch<N extends EventTypeName>(steps: FetchedBatchSteps<N>): Promise<FetchedBatchOutcome> {
  const decoded = await decodeFetchedBatch(steps);
  return 'kind' in decoded ? decoded : deliverDecodedBatch(steps, decoded);
}

/**
 * Parses every record and sends the ones that fail (or that `refuse` turns down) to the dead-letter topic. An outcome
 * instead of a batch when there is nothing to deliver: an empty batch, or a dead letter that could not be stored.
 */
export async function decodeFetchedBatch<N extends EventTypeName>(steps: FetchedBatchSteps<N>): Promise<DecodedBatch<N> | FetchedBatchOutcome> {
  const { records, options, logger } = steps;
  const last = records.at(-1);
  if (last === undefined) return { kind: 'done' };

  const valid: BusRecord<EventOf<N>>[] = [];
  // Without a slice the batch decodes in one go: `i % Infinity` is `i`, which is 0 at the first record, so the slice
  // test alone would still yield once per batch.
  const slice = steps.decodeSlice;
  for (let i = 0; i < records.length; i++) {
    if (slice !== undefined && i % slice === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const record = records[i]!;
    const parsed = decodeEvent(options.eventType, record.value, record.headers);
    const refused = parsed.ok && options.refuse !== undefined ? options.refuse(parsed.value) : null;
    const decoded = refused === null ? parsed : { ok: false as const, reason: refused };
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
  return { valid, lastOffset: last.offset };
}

/** Hands a decoded batch to the handler in chunks of maxBatchSize, committing each chunk after the handler resolved. */
export async function deliverDecodedBatch<N extends EventTypeName>(steps: FetchedBatchSteps<N>, batch: DecodedBatch<N>): Promise<FetchedBatchOutcome> {
  const { valid, lastOffset } = batch;
  const size = steps.options.maxBatchSize;
  if (valid.length === 0) return (await commitOrInterrupt(steps, nextOffset(lastOffset))) ? { kind: 'done' } : { kind: 'interrupted' };
  for (let start = 0; start < valid.length; start += size) {
    const chunk = valid.length <= size ? valid : valid.slice(start, start + size);
    const isLastChunk = start + size >= valid.length;
    // The last chunk also covers dead letters that trail it.
    const commitTo = nextOffset(isLastChunk ? lastOffset : (chunk.at(-1) as BusRecord<unknown>).offset);
    const handled = await handleWithRedelivery(steps, chunk);
    if (handled !== 'done') return handled;
    if (!steps.mayCommit() || !(await commitOrInterrupt(steps, commitTo))) return { kind: 'interrupted' };
    // A big fetch is several chunks: tell the group this member is alive between them (kafkajs sends it only once
    // per heartbeat interval), or a slow machine loses the session mid-fetch and every commit after it fails.
    if (!isLastChunk) await steps.context.heartbeat().catch(() => undefined);
  }
  return { kind: 'done' };
}

/** A decoded batch and the steps of the partition it came from. */
export interface DecodedPart<N extends EventTypeName> {
  steps: FetchedBatchSteps<N>;
  batch: DecodedBatch<N>;
}

/**
 * Hands several decoded batches (other partitions, one fetch) to the handler in one call, their records in the order
 * given (each partition's in offset order), then commits each partition past its batch — only after that call resolved.
 * The caller keeps the total within maxBatchSize. Redelivery as for one batch: the same records again after a backoff,
 * for as long as every partition may continue; a partition lost meanwhile interrupts them all, uncommitted (whoever
 * consumes them next gets them again, and the handler's idempotence absorbs what the failed attempts wrote). One
 * outcome per batch, in the order given.
 */
export async function deliverDecodedBatchesTogether<N extends EventTypeName>(parts: readonly DecodedPart<N>[]): Promise<FetchedBatchOutcome[]> {
  const first = parts[0];
  if (first === undefined) return [];
  if (parts.length === 1) return [await deliverDecodedBatch(first.steps, first.batch)];
  const records = parts.flatMap((part) => part.batch.valid);
  if (records.length > 0) {
    const together: FetchedBatchSteps<N> = {
      ...first.steps,
      onDeliver: () => {
        for (const { steps, batch } of parts) if (batch.valid.length > 0) steps.onDeliver?.(batch.valid);
      },
      shouldContinue: () => parts.every((part) => part.steps.shouldContinue()),
    };
    const handled = await handleWithRedelivery(together, records);
    if (handled !== 'done') return parts.map(() => handled);
  }
  // Each partition's commit covers its dead letters too (past its batch's last offset).
  return Promise.all(
    parts.map(async ({ steps, batch }): Promise<FetchedBatchOutcome> =>
      steps.mayCommit() && (await commitOrInterrupt(steps, nextOffset(batch.lastOffset))) ? { kind: 'done' } : { kind: 'interrupted' },
    ),
  );
}

/**
 * Hands one chunk to the handler; a retriable failure redelivers the same chunk after a backoff on the consumer's
 * clock, for as long as the consumer runs and owns the partition. A stop (the signal) ends the backoff at once.
 */
async function handleWithRedelivery<N extends EventTypeName>(
  steps: FetchedBatchSteps<N>,
  chunk: BusRecord<EventOf<N>>[],
): Promise<'done' | FetchedBatchOutcome> {
  const { options, context, logger } = steps;
  if (!steps.shouldContinue()) return { kind: 'interrupted' };
  try {
    await retry(
      async (attempt) => {
        if (attempt > 0) {
          // The partition may have moved, or the consumer begun stopping, while we waited.
          if (!steps.shouldContinue()) throw new AbortedError('the partition moved or the consumer stopped during a backoff');
          await context.heartbeat().catch(() => undefined);
        }
        steps.onDeliver?.(chunk);
        await options.handler(chunk, context);
      },
      {
        retries: Infinity,
        initialDelayMs: steps.backoff.initialMs,
        maxDelayMs: steps.backoff.maxMs,
        jitter: RETRY_JITTER,
        ...(steps.random === undefined ? {} : { random: steps.random }),
        shouldRetry: (error) => isRetriable(error) && steps.shouldContinue(),
        onRetry: (error, attempt, delayMs) =>
          logger.warn(
            { err: error, topic: chunk[0]?.topic, partition: chunk[0]?.partition, attempt, delayMs },
            `handler failed with a retriable error; redelivering the batch: ${errorMessage(error)}`,
          ),
        clock: steps.clock,
        signal: steps.signal,
      },
    );
    return 'done';
  } catch (error) {
    // Retriable failures end only because the consumer stopped or lost the partition: someone gets the records again.
    if (isRetriable(error) || (error instanceof AbortedError && !steps.shouldContinue())) return { kind: 'interrupted' };
    return { kind: 'crashed', error };
  }
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
