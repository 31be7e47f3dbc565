import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PartitionPosition } from '@moodstream/bus';
import { PartitionWatermark } from '../src/partition-watermark';

const T = 1_700_000_000_000;
const at = (partition: number, newestTimestamp: number | null, undelivered: number): PartitionPosition => ({ topic: 'scored', partition, newestTimestamp, undelivered });

describe('PartitionWatermark (the clock is a number: virtual time)', () => {
  it('is the minimum of the partitions’ newest event times, whatever their backlog (sustained traffic)', () => {
    const w = new PartitionWatermark(30_000);
    // Partition 2 lags 2 minutes of event time and always has records waiting: it alone decides.
    assert.equal(w.candidate([at(0, T + 180_000, 500), at(1, T + 179_000, 800), at(2, T + 60_000, 4_000)], 0), T + 60_000);
    assert.equal(w.candidate([at(0, T + 181_000, 500), at(1, T + 181_000, 800), at(2, T + 61_000, 4_000)], 1_000), T + 61_000);
  });

  it('holds while a partition with a backlog has handed over nothing yet (history produced in one burst)', () => {
    const w = new PartitionWatermark(30_000);
    assert.equal(w.candidate([at(0, T + 30 * 60_000, 10), at(1, null, 400), at(2, null, 400)], 0), null);
    assert.equal(w.candidate([at(0, T + 30 * 60_000, 10), at(1, null, 400), at(2, null, 400)], 10 * 60_000), null, 'a backlog is never idle');
    assert.equal(w.candidate([at(0, T + 30 * 60_000, 10), at(1, T + 2 * 60_000, 300), at(2, T + 60_000, 300)], 10 * 60_000), T + 60_000);
  });

  it('drops a caught-up partition from the minimum once it has not advanced for the idle timeout', () => {
    const w = new PartitionWatermark(30_000);
    assert.equal(w.candidate([at(0, T + 10_000, 0), at(1, T, 0)], 0), T);
    assert.equal(w.candidate([at(0, T + 20_000, 0), at(1, T, 0)], 29_999), T, 'not idle yet');
    assert.equal(w.candidate([at(0, T + 40_000, 0), at(1, T, 0)], 30_000), T + 40_000, 'partition 1 is idle');
    // It wakes up: it holds the watermark again (its late records are judged by the allowed lateness).
    assert.equal(w.candidate([at(0, T + 41_000, 0), at(1, T + 35_000, 0)], 31_000), T + 35_000);
    // A caught-up partition that never had a record waits for the timeout too, then stops mattering.
    const fresh = new PartitionWatermark(30_000);
    assert.equal(fresh.candidate([at(0, T, 0), at(1, null, 0)], 0), null);
    assert.equal(fresh.candidate([at(0, T + 5_000, 0), at(1, null, 0)], 30_000), T + 5_000);
  });

  it('restarts every idle clock after the positions could not be read (a broker outage is not idleness)', () => {
    const w = new PartitionWatermark(30_000);
    assert.equal(w.candidate([at(0, T, 0), at(1, T, 0)], 0), T);
    // The broker goes away for 40 s (reads fail): no partition moved, yet none was seen caught up in that time.
    w.unreachable();
    // Back: the scorer's backlog reaches partition 0 first; partition 1 still holds the watermark…
    assert.equal(w.candidate([at(0, T + 10 * 60_000, 0), at(1, T, 0)], 45_000), T, 'partition 1 is not idle after the outage');
    assert.equal(w.candidate([at(0, T + 10 * 60_000, 0), at(1, T, 0)], 45_000 + 29_999), T);
    // …until it has been seen caught up and quiet for the idle timeout since the broker answered again.
    assert.equal(w.candidate([at(0, T + 11 * 60_000, 0), at(1, T, 0)], 45_000 + 30_000), T + 11 * 60_000);
  });

  it('is null when every partition is idle or none is assigned (the clock-driven idle advance takes over)', () => {
    const w = new PartitionWatermark(30_000);
    assert.equal(w.candidate([], 0), null);
    assert.equal(w.candidate([at(0, T, 0)], 0), T);
    assert.equal(w.candidate([at(0, T, 0)], 30_000), null);
  });
});
