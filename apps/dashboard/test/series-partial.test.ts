import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPartial, lastComplete, leadingEmotion, toChartRows } from '../src/ui/series';
import { makePoint } from './support/fake-trends';

const T0 = Date.UTC(2026, 0, 1, 12);
const MINUTE = 60_000;
// Two complete minutes where sad leads, then the newest minute holding one happy post.
const points = [makePoint(T0, 200, { sad: 0.6 }), makePoint(T0 + MINUTE, 180, { sad: 0.55 }), makePoint(T0 + 2 * MINUTE, 1, { happy: 0.9 })];
const now = T0 + 2 * MINUTE + 20_000;

describe('the newest, still-filling bucket', () => {
  it('is partial until its window ends by the clock', () => {
    assert.equal(isPartial(points[2]!, '1m', now), true);
    assert.equal(isPartial(points[2]!, '1m', T0 + 3 * MINUTE), false, 'closed the moment its minute ends');
    assert.equal(isPartial(points[1]!, '1m', now), false);
  });

  it('does not decide the headline: the leading mood is read from the last complete window', () => {
    const complete = lastComplete(points, '1m', now);
    assert.equal(complete?.start, T0 + MINUTE);
    assert.equal(leadingEmotion(complete!, 'raw'), 'sad');
    assert.equal(leadingEmotion(points[2]!, 'raw'), 'happy', 'the one-post bucket would have said happy');
    assert.equal(lastComplete(points.slice(2), '1m', now), undefined, 'no complete window yet: no headline');
  });

  it('is drawn apart (dashed, from the last complete bucket) with its interval', () => {
    const rows = toChartRows(points, 'raw', { window: '1m', now });
    const [first, previous, newest] = rows;
    assert.equal(newest?.partial, true);
    assert.equal(newest?.happy, undefined, 'not on the solid line');
    assert.ok(Math.abs((newest?.happyPartial ?? 0) - points[2]!.shares.happy.share) < 1e-12);
    assert.deepEqual(newest?.happyBand, [points[2]!.shares.happy.lo, points[2]!.shares.happy.hi], 'its band is kept');
    assert.equal(previous?.sadPartial, previous?.sad, 'the dashed segment starts where the solid line ends');
    assert.equal(first?.sadPartial, undefined);
    assert.equal(toChartRows(points, 'raw', { window: '1m', now: T0 + 3 * MINUTE })[2]?.partial, undefined, 'closed: drawn like any other');
    assert.equal(toChartRows(points, 'raw')[2]?.partial, undefined, 'a replay has no filling bucket');
  });
});
