import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AbortedError, MoodstreamError, VirtualClock, createLogger } from '@moodstream/core';
import { decodeFetchedBatch, deliverDecodedBatchesTogether, processFetchedBatch, type DecodedBatch, type FetchedBatchSteps } from '../src/batch-processing';
import { encodeEvent } from '../src/codec';
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
      fromBeginning: false,
      sessionTimeoutMs: 30_000,
      handler: handler ?? (async (batch) => void log.batches.push(batch.map((r) => r.offset))),
    },
    context: { stopping: false, heartbeat: async () => undefined },
    sendDeadLetter: async (r) => void log.letters.push(r.offset),
    commit: async (next) => void log.commits.push(next),
    shouldContinue: () => true,
    mayCommit: () => true,
    backoff: { initialMs: 1, maxMs: 1 },
    clock: new VirtualClock(),
    signal: new AbortController().signal,
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
      throw new MoodstreamError('BUS_KAFKA_UNAVAILABLE', 'broker away');
    },
  });
  assert.deepEqual(await processFetchedBatch(transient.s), { kind: 'interrupted' });
  assert.deepEqual(transient.log.commits, []);
  assert.deepEqual(transient.log.batches, [], 'nothing handled before the dead letter is safe');

  const permanent = steps([bad(0)], {
    sendDeadLetter: async () => {
      throw new MoodstreamError('BUS_KAFKA_FAILED', 'not authorised');
    },
  });
  const outcome = await processFetchedBatch(permanent.s);
  assert.equal(outcome.kind, 'crashed');
});

/** Lets the batch's promise chain run up to its next wait on the virtual clock. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A handler that always fails retriably, noting the virtual time of each call. */
function busyHandler(clock: VirtualClock, calls: number[]): FetchedBatchSteps<'Post'>['options']['handler'] {
  return async () => {
    calls.push(clock.now());
    throw new MoodstreamError('TOO_MANY_REQUESTS', 'busy');
  };
}

test('retriable handler errors retry the same chunk after a growing backoff on the injected clock; a stop during the backoff ends it at once, uncommitted', async () => {
  const clock = new VirtualClock();
  const stop = new AbortController();
  const calls: number[] = [];
  let heartbeats = 0;
  const { s, log } = steps([good(0), good(1)], {
    handler: busyHandler(clock, calls),
    context: { stopping: false, heartbeat: async () => void heartbeats++ },
    shouldContinue: () => !stop.signal.aborted,
    backoff: { initialMs: 100, maxMs: 1_000 },
    // Jitter 0.2 with random 0.5: each delay is 90% of 100, 200, 400 ms.
    random: () => 0.5,
    clock,
    signal: stop.signal,
  });
  const outcome = processFetchedBatch(s);
  await settle();
  assert.deepEqual(calls, [0]);
  clock.advance(89);
  await settle();
  assert.deepEqual(calls, [0], 'not redelivered before the backoff has passed');
  clock.advance(1);
  await settle();
  clock.advance(180);
  await settle();
  assert.deepEqual(calls, [0, 90, 270], 'delays grow: 90 ms, then 180 ms');
  assert.equal(heartbeats, 2, 'the session is kept alive before each redelivery');

  // Stopped 10 ms into the 360 ms backoff: no more time needs to pass for the batch to end.
  clock.advance(10);
  stop.abort();
  assert.deepEqual(await outcome, { kind: 'interrupted' });
  assert.equal(clock.pendingTimers(), 0, 'the backoff timer was cancelled');
  assert.equal(clock.now(), 280);
  assert.deepEqual(calls, [0, 90, 270], 'no attempt after the stop');
  assert.deepEqual(log.commits, []);
});

test('a partition lost during the backoff is not handled again; a non-retriable error crashes at once', async () => {
  const clock = new VirtualClock();
  const calls: number[] = [];
  let owned = true;
  const lost = steps([good(0)], { handler: busyHandler(clock, calls), shouldContinue: () => owned, backoff: { initialMs: 100, maxMs: 100 }, clock });
  const outcome = processFetchedBatch(lost.s);
  await settle();
  owned = false;
  clock.advance(100);
  assert.deepEqual(await outcome, { kind: 'interrupted' });
  assert.deepEqual(calls, [0]);

  const failure = new MoodstreamError('MODEL_OUTPUT_INVALID', 'NaN scores');
  let attempts = 0;
  const permanent = steps([good(0)], {
    handler: async () => {
      attempts++;
      throw failure;
    },
    clock,
  });
  assert.deepEqual(await processFetchedBatch(permanent.s), { kind: 'crashed', error: failure });
  assert.equal(attempts, 1);
  assert.deepEqual(permanent.log.commits, []);
});

test('a handler that gives up with AbortedError because its consumer is stopping leaves the batch uncommitted, not crashed', async () => {
  const { s, log } = steps([good(0)], {
    handler: async () => {
      throw new AbortedError('shutting down');
    },
    shouldContinue: () => false,
    mayCommit: () => true,
  });
  // shouldContinue is false from the start: the handler is not even called.
  assert.deepEqual(await processFetchedBatch(s), { kind: 'interrupted' });
  assert.deepEqual(log.batches, []);

  let stopping = false;
  const midway = steps([good(0)], {
    handler: async () => {
      stopping = true;
      throw new AbortedError('shutting down');
    },
    shouldContinue: () => !stopping,
  });
  assert.deepEqual(await processFetchedBatch(midway.s), { kind: 'interrupted' });
  assert.deepEqual(midway.log.commits, []);
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

test('decoding yields to the event loop once per decodeSlice records, and never without a slice', async () => {
  // Counts the macrotask turns the decode gave away: an immediate queued before each yield runs before the decode goes on.
  async function turnsDuring(decodeSlice: number | undefined): Promise<number> {
    const records = [good(0), good(1), good(2), good(3), good(4)];
    const { s } = steps(records, decodeSlice === undefined ? {} : { decodeSlice });
    let turns = 0;
    let running = true;
    const tick = (): void => {
      if (!running) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const decoded = await decodeFetchedBatch(s);
    running = false;
    assert.ok(!('kind' in decoded) && decoded.valid.length === 5);
    return turns;
  }
  assert.equal(await turnsDuring(undefined), 0);
  assert.equal(await turnsDuring(2), 3);
});

test('batches of several partitions go to the handler in one call; each partition is committed past its own batch (and trailing dead letters) only after it', async () => {
  const calls: string[][] = [];
  const commits: string[] = [];
  const delivered: string[] = [];
  let committedDuringHandler = false;
  const handler: FetchedBatchSteps<'Post'>['options']['handler'] = async (batch) => {
    committedDuringHandler ||= commits.length > 0;
    calls.push(batch.map((r) => `${r.partition}:${r.offset}`));
  };
  const partOf = async (partition: number, records: RawBusRecord[]) => {
    const { s } = steps(
      records.map((r) => ({ ...r, partition })),
      {
        handler,
        commit: async (next) => void commits.push(`${partition}@${next}`),
        onDeliver: (chunk) => void delivered.push(`${partition}:${chunk.length}`),
      },
    );
    const batch = (await decodeFetchedBatch(s)) as DecodedBatch<'Post'>;
    return { steps: s, batch };
  };
  const parts = [await partOf(0, [good(10), good(11), bad(12)]), await partOf(1, [good(3)]), await partOf(2, [bad(7)])];
  assert.deepEqual(await deliverDecodedBatchesTogether(parts), [{ kind: 'done' }, { kind: 'done' }, { kind: 'done' }]);
  assert.deepEqual(calls, [['0:10', '0:11', '1:3']], 'one handler call, each partition in offset order');
  assert.deepEqual(delivered, ['0:2', '1:1'], 'each partition told of its own records before the handler');
  assert.equal(committedDuringHandler, false);
  assert.deepEqual(commits.sort(), ['0@13', '1@4', '2@8']);
});

test('batches handled together: a retriable failure redelivers all their records; a partition lost meanwhile leaves every one uncommitted; a crash reaches each', async () => {
  const clock = new VirtualClock();
  const calls: number[] = [];
  let lost = false;
  const commits: string[] = [];
  const make = async (partition: number, handler: FetchedBatchSteps<'Post'>['options']['handler']) => {
    const { s } = steps([good(partition)], {
      handler,
      clock,
      backoff: { initialMs: 100, maxMs: 100 },
      random: () => 0.5,
      commit: async (next) => void commits.push(`${partition}@${next}`),
      shouldContinue: () => !(partition === 1 && lost),
    });
    return { steps: s, batch: (await decodeFetchedBatch(s)) as DecodedBatch<'Post'> };
  };
  const busy = busyHandler(clock, calls);
  const parts = [await make(0, busy), await make(1, busy)];
  const outcome = deliverDecodedBatchesTogether(parts);
  await settle();
  clock.advance(90);
  await settle();
  assert.deepEqual(calls, [0, 90], 'redelivered after the backoff');
  lost = true;
  clock.advance(90);
  assert.deepEqual(await outcome, [{ kind: 'interrupted' }, { kind: 'interrupted' }]);
  assert.deepEqual(calls, [0, 90], 'not handled again once one partition moved');
  assert.deepEqual(commits, []);

  const failing: FetchedBatchSteps<'Post'>['options']['handler'] = async () => {
    throw new Error('bug');
  };
  const crashed = await deliverDecodedBatchesTogether([await make(0, failing), await make(2, failing)]);
  assert.deepEqual(crashed.map((o) => o.kind), ['crashed', 'crashed']);
  assert.deepEqual(commits, []);
});
