import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WINDOW_MS, WINDOW_SIZES, bucketCount, bucketStart, bucketStarts } from '../src/index';

const MIN = 60_000;

test('window sizes run finest first, each a whole number of the one before', () => {
  assert.deepEqual(WINDOW_SIZES, ['1m', '5m', '1h', '1d']);
  const widths = WINDOW_SIZES.map((size) => WINDOW_MS[size]);
  widths.slice(1).forEach((coarser, i) => {
    assert.equal(coarser % (widths[i] ?? 1), 0, 'buckets of one size nest in the next');
  });
  assert.equal(WINDOW_MS['1d'], 24 * 60 * MIN);
});

test('a time falls in the epoch-aligned bucket holding it', () => {
  const t = Date.UTC(2026, 4, 17, 13, 47, 59, 999);
  assert.equal(bucketStart(t, '1m'), Date.UTC(2026, 4, 17, 13, 47));
  assert.equal(bucketStart(t, '5m'), Date.UTC(2026, 4, 17, 13, 45));
  assert.equal(bucketStart(t, '1h'), Date.UTC(2026, 4, 17, 13));
  assert.equal(bucketStart(t, '1d'), Date.UTC(2026, 4, 17), '1 d buckets start at UTC midnight');
  assert.equal(bucketStart(5 * MIN, '5m'), 5 * MIN, 'a bucket holds its own start');
});

test('the buckets covering a half-open range', () => {
  assert.deepEqual(bucketStarts(30_000, 3 * MIN, '1m'), [0, MIN, 2 * MIN]);
  assert.equal(bucketCount(30_000, 3 * MIN, '1m'), 3);
  assert.equal(bucketCount(3 * MIN, 3 * MIN, '1m'), 0, 'an empty range has no buckets');
  assert.deepEqual(bucketStarts(3 * MIN, 3 * MIN, '1m'), []);
});
