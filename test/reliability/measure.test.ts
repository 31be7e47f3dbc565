import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BucketStats } from '@moodstream/trends';
import { statsDifferences } from './measure';

const bucket = (over: Partial<BucketStats> = {}): BucketStats => ({
  count: 3,
  sum: [1_500_000, 900_000, 300_000, 200_000, 80_000, 20_000],
  sumSq: [900_000, 300_000, 40_000, 20_000, 3_000, 200],
  top: [2, 1, 0, 0, 0, 0],
  explicit: 0,
  ...over,
});
const one = (stats: BucketStats): Map<string, BucketStats> => new Map([['storm-watch:1m:0', stats]]);

describe('reliability: buckets compared with the reference run', () => {
  it('takes a last-bit rounding difference (at most one micro-unit per post) as equal', () => {
    assert.equal(statsDifferences(one(bucket()), one(bucket())), 0);
    assert.equal(statsDifferences(one(bucket()), one(bucket({ sum: [1_500_003, 899_998, 300_000, 200_001, 80_000, 20_000], sumSq: [900_001, 300_000, 40_000, 20_000, 3_000, 199] }))), 0);
  });

  it('counts a bucket that lost or doubled a post, moved beyond rounding, changed a top emotion or is missing', () => {
    assert.equal(statsDifferences(one(bucket()), one(bucket({ count: 4 }))), 1, 'a post counted twice');
    assert.equal(statsDifferences(one(bucket()), one(bucket({ sum: [1_500_004, 900_000, 300_000, 200_000, 80_000, 20_000] }))), 1, 'four units over three posts');
    assert.equal(statsDifferences(one(bucket()), one(bucket({ top: [1, 2, 0, 0, 0, 0] }))), 1);
    assert.equal(statsDifferences(one(bucket()), one(bucket({ explicit: 1 }))), 1);
    assert.equal(statsDifferences(one(bucket()), new Map()), 1, 'missing');
  });
});
