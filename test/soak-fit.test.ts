import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLine, trend } from '../scripts/soak-fit';

test('soak fit: the slope of a line, and its standard error from the scatter around it', () => {
  assert.deepEqual(fitLine([[0, 1], [1, 3], [2, 5], [3, 7]]), { slope: 2, slopeError: 0, points: 4 });
  // Least squares: slope Σ(x − x̄)(y − ȳ) / Σ(x − x̄)² = 3 / 5; residuals ±0.4, ±1.2 (sum of squares 3.2) over
  // 2 degrees of freedom, so the error is √(1.6 / 5).
  const fit = fitLine([[0, 1], [1, 0], [2, 3], [3, 2]]);
  assert.ok(Math.abs(fit.slope - 0.6) < 1e-12, String(fit.slope));
  assert.ok(Math.abs((fit.slopeError ?? NaN) - Math.sqrt(1.6 / 5)) < 1e-12, String(fit.slopeError));
  assert.deepEqual(fitLine([[0, 5]]), { slope: 0, slopeError: null, points: 1 });
  assert.equal(fitLine([[0, 5], [1, 6]]).slopeError, null, 'two points give a slope but no error');
});

test('soak fit: a trend from a minute on, in MB per hour', () => {
  const series: [number, number][] = [[0, 500], [5, 800], [10, 900], [11, 901], [12, 902], [13, 903]];
  assert.deepEqual(trend(series, 10), { fromMb: 900, toMb: 903, minMb: 900, maxMb: 903, slopeMbPerHour: 60, errorMbPerHour: 0 });
});
