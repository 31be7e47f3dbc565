import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MoodstreamError, createLogger } from '@moodstream/core';
import { encodeEvent } from '@moodstream/events';
import { processFetchedBatch, type FetchedBatchSteps } from '../src/batch-processing';
import type { RawBusRecord } from '../src/index';
import { makePost } from './contract';

const logger = createLogger('t', { level: 'silent' });

function record(offset: number, value: Buffer | string | null): RawBusRecord {
  return { topic: 't', partition: 0, offset: String(offset), key: 'k', value: typeof value === 'string' ? Buffer.from(value) : value, timestamp: 1, headers: {} };
}
const good = (offset: number): RawBusRecord => record(offset, encodeEvent('Post', makePost(`p${offset}`)).value);
const bad = (offset: number): RawBusRecord => record(offset, 'not json');

function steps(records: RawBusRecord[], overrides: Partial<FetchedBatchSteps<'Post'>> & { handler?: FetchedBatchSteps<'Post'>['options']['handler'] } = {}) {
  const log = { commits: [] as string[], letters: [] as string[], batches: [] as string[][] };
  const { handler, ...rest } = overrides;
  const s: FetchedBatchSteps<'Post'> = {
    records,
    options: {
      groupId: 'g',
      topics: ['t'],
      eventType: 'Post',
      deadLetterTopic: 'dlq',
      maxBatchSize: 2,
      handler: handler ?? (async (batch) => void log.batches.push(batch.map((r) => r.offset))),
    },
    context: { stopping: false, heartbeat: async () => undefined },
    sendDeadLetter: async (r) => void log.letters.push(r.offset),
    commit: async (next) => void log.commits.push(next),
    shouldContinue: () => true,
    mayCommit: () => true,
    sleep: async () => undefined,
    backoff: { initialMs: 1, maxMs: 1 },
    logger,
    ...rest,
  };
  return { s, log };
}

test('chunks by maxBatchSize and commits after each chunk; the last commit covers trailing dead letters', async () => {
  const { s, log } = steps([bad(10), good(11), good(12), bad(13), good(14), bad(15)]);
  assert.deepEqual(await processFetchedBatch(s), { kind: 'done' });
  assert.deepEqual(log.letters, ['10', '13', '15']);
  assert.deepEqual(log.batches, [['11', '12'], ['14']]);
  assert.deepEqual(log.commits, ['13', '16']);
});

test('a batch of nothing but dead letters is committed past its end', async () => {
  const { s, log } = steps([bad(0), record(1, null)]);
  assert.deepEqual(await processFetchedBatch(s), { kind: 'done' });
  assert.deepEqual(log.commits, ['2']);
});

test('a retriable dead-letter failure leaves the whole batch uncommitted; a permanent one crashes', async () => {
  const transient = steps([good(0), bad(1)], {
    sendDeadLetter: async () => {
      throw new MoodstreamError('X', 'broker away', { retriable: true });
    },
  });
  assert.deepEqual(await processFetchedBatch(transient.s), { kind: 'interrupted' });
  assert.deepEqual(transient.log.commits, []);
  assert.deepEqual(transient.log.batches, [], 'nothing handled before the dead letter is safe');

  const permanent = steps([bad(0)], {
    sendDeadLetter: async () => {
      throw new MoodstreamError('X', 'not authorised', { retriable: false });
    },
  });
  const outcome = await processFetchedBatch(permanent.s);
  assert.equal(outcome.kind, 'crashed');
});

test('retriable handler errors back off and retry the same chunk; a stop during backoff leaves it uncommitted', async () => {
  let stopping = false;
  const sleeps: number[] = [];
  let calls = 0;
  const { s, log } = steps([good(0), good(1)], {
    handler: async () => {
      calls++;
      if (calls === 3) stopping = true;
      throw new MoodstreamError('X', 'busy', { retriable: true });
    },
    sleep: async (ms) => void sleeps.push(ms),
    shouldContinue: () => !stopping,
    backoff: { initialMs: 100, maxMs: 1_000 },
  });
  assert.deepEqual(await processFetchedBatch(s), { kind: 'interrupted' });
  assert.equal(calls, 3);
  assert.equal(sleeps.length, 3);
  assert.ok(sleeps[0]! >= 80 && sleeps[0]! <= 100 && sleeps[1]! >= 160 && sleeps[2]! >= 320, `delays grow: ${sleeps.join(',')}`);
  assert.deepEqual(log.commits, []);
});

test('a finished chunk is not committed once the partition may no longer be committed (abort, lost partition)', async () => {
  const { s, log } = steps([good(0)], { mayCommit: () => false });
  assert.deepEqual(await processFetchedBatch(s), { kind: 'interrupted' });
  assert.deepEqual(log.batches, [['0']]);
  assert.deepEqual(log.commits, []);
});

test('a failed commit interrupts the batch instead of crashing the consumer', async () => {
  const { s } = steps([good(0)], {
    commit: async () => {
      throw new Error('REBALANCE_IN_PROGRESS');
    },
  });
  assert.deepEqual(await processFetchedBatch(s), { kind: 'interrupted' });
});
