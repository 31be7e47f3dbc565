import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addContribution, contributionOf, emptyStats } from '../src/bucket';
import { confusionFromJson, correctedShares } from '../src/confusion';
import { SpikeDetector, type DetectorSettings } from '../src/detector';
import { meanShare, perPostVariance, shareEstimate, toSeriesPoint } from '../src/estimate';
import { upperQuantile, upperTail } from '../src/normal';
import { bucketCount, bucketStart, bucketStarts } from '../src/windows';
import { scoredPost, T0 } from './fixtures';

describe('windows', () => {
  it('aligns buckets to the epoch (1 d at UTC midnight)', () => {
    const t = Date.UTC(2026, 4, 17, 13, 47, 31, 250);
    assert.equal(bucketStart(t, '1m'), Date.UTC(2026, 4, 17, 13, 47));
    assert.equal(bucketStart(t, '5m'), Date.UTC(2026, 4, 17, 13, 45));
    assert.equal(bucketStart(t, '1h'), Date.UTC(2026, 4, 17, 13));
    assert.equal(bucketStart(t, '1d'), Date.UTC(2026, 4, 17));
    assert.deepEqual(bucketStarts(T0 + 30_000, T0 + 180_000, '1m'), [T0, T0 + 60_000, T0 + 120_000]);
    assert.equal(bucketCount(T0 + 30_000, T0 + 180_000, '1m'), 3);
    assert.equal(bucketCount(T0, T0, '1m'), 0);
  });
});

describe('normal tail', () => {
  it('matches known values, including far tails', () => {
    assert.ok(Math.abs(upperTail(0) - 0.5) < 1e-7);
    assert.ok(Math.abs(upperTail(1.959963984540054) - 0.025) < 1e-7);
    assert.ok(Math.abs(upperTail(-1.6448536269514722) - 0.95) < 1e-7);
    // P(Z ≥ 6) = 9.8659e-10: relative accuracy matters out here.
    assert.ok(Math.abs(upperTail(6) / 9.865876450377e-10 - 1) < 1e-5);
    assert.equal(upperTail(Infinity), 0);
    assert.ok(Math.abs(upperQuantile(0.01 / 30) - 3.4 ) < 0.01);
  });
});

describe('share estimate', () => {
  it('is the mean probability with a normal interval from the per-post variance', () => {
    const stats = emptyStats();
    const values = [0.1, 0.3, 0.2, 0.4];
    values.forEach((p, i) => addContribution(stats, contributionOf(scoredPost({ postId: `p${i}`, timestamp: T0, probabilities: [p, 1 - p, 0, 0, 0, 0] }))));
    assert.ok(Math.abs(meanShare(stats, 0) - 0.25) < 1e-9);
    const variance = values.reduce((a, p) => a + (p - 0.25) ** 2, 0) / 3;
    assert.ok(Math.abs(perPostVariance(stats, 0) - variance) < 1e-9);
    const estimate = shareEstimate(stats, 0);
    const half = 1.959963984540054 * Math.sqrt(variance / 4);
    assert.ok(Math.abs(estimate.lo - (0.25 - half)) < 1e-9);
    assert.ok(Math.abs(estimate.hi - (0.25 + half)) < 1e-9);
  });

  it('clamps to [0, 1] and is honest about a single post', () => {
    const stats = emptyStats();
    addContribution(stats, contributionOf(scoredPost({ postId: 'one', timestamp: T0, probabilities: [0.98, 0.02, 0, 0, 0, 0] })));
    const estimate = shareEstimate(stats, 0);
    assert.equal(estimate.hi, 1);
    assert.ok(estimate.lo < 0.98 && estimate.lo >= 0);
    assert.deepEqual(shareEstimate(emptyStats(), 0), { share: 0, lo: 0, hi: 1 });
  });
});

describe('adjusted classify-and-count', () => {
  const labels = ['happy', 'sad', 'angry', 'surprised', 'scared', 'disgusted'];
  it('recovers the true shares from predicted shares through a known confusion matrix', () => {
    // Rows: true class; the classifier confuses scared with surprised a lot.
    const matrix = [
      [80, 5, 5, 5, 3, 2],
      [5, 70, 10, 5, 5, 5],
      [5, 10, 60, 5, 5, 15],
      [10, 5, 5, 60, 15, 5],
      [5, 5, 5, 30, 50, 5],
      [5, 5, 15, 5, 5, 65],
    ];
    const confusion = confusionFromJson({ labels, matrix, source: 'test' });
    const truth = [0.3, 0.2, 0.1, 0.15, 0.2, 0.05];
    const predicted = labels.map((_, p) => truth.reduce((sum, share, t) => sum + share * (confusion.rates[t]?.[p] ?? 0), 0));
    const corrected = correctedShares(predicted, confusion);
    assert.ok(corrected !== null);
    corrected.forEach((share, i) => assert.ok(Math.abs(share - (truth[i] ?? 0)) < 1e-9, `${labels[i]}: ${share}`));
  });

  it('reorders labels, clips negative solutions and renormalises', () => {
    const identityShuffled = confusionFromJson({
      labels: ['sad', 'happy', 'angry', 'surprised', 'scared', 'disgusted'],
      matrix: [
        [10, 0, 0, 0, 0, 0],
        [0, 10, 0, 0, 0, 0],
        [0, 0, 10, 0, 0, 0],
        [0, 0, 0, 10, 0, 0],
        [0, 0, 0, 0, 10, 0],
        [0, 0, 0, 0, 0, 10],
      ],
    });
    assert.deepEqual(correctedShares([0.5, 0.5, 0, 0, 0, 0], identityShuffled), [0.5, 0.5, 0, 0, 0, 0]);
    const noisy = confusionFromJson({
      labels,
      matrix: [
        [60, 40, 0, 0, 0, 0],
        [40, 60, 0, 0, 0, 0],
        [0, 0, 1, 0, 0, 0],
        [0, 0, 0, 1, 0, 0],
        [0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1],
      ],
    });
    // Predicted happy share above anything the matrix can produce → the sad solution goes negative and is clipped.
    const corrected = correctedShares([0.7, 0.1, 0.1, 0.1, 0, 0], noisy);
    assert.ok(corrected !== null);
    assert.ok(corrected.every((x) => x >= 0));
    assert.ok(Math.abs(corrected.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.equal(corrected[1], 0);
  });

  it('gives null for a singular matrix and rejects malformed files with a readable error', () => {
    const singular = confusionFromJson({ labels, matrix: Array.from({ length: 6 }, () => [1, 1, 1, 1, 1, 1]) });
    assert.equal(correctedShares([0.2, 0.2, 0.2, 0.2, 0.1, 0.1], singular), null);
    assert.throws(() => confusionFromJson({ labels: labels.slice(0, 5), matrix: [] }), /invalid confusion matrix: labels/);
    assert.throws(() => confusionFromJson({ labels: ['joy', ...labels.slice(1)], matrix: Array.from({ length: 6 }, () => [1, 0, 0, 0, 0, 0]) }), /lack "happy"/);
  });

  it('fills `corrected` in series points from top-emotion counts', () => {
    const confusion = confusionFromJson({ labels, matrix: labels.map((_, r) => labels.map((__, c) => (r === c ? 9 : 1))) });
    const stats = emptyStats();
    for (let i = 0; i < 10; i++) addContribution(stats, contributionOf(scoredPost({ postId: `c${i}`, timestamp: T0, probabilities: i < 7 ? [0.9, 0.1, 0, 0, 0, 0] : [0.1, 0.9, 0, 0, 0, 0] })));
    const point = toSeriesPoint(T0, stats, confusion);
    assert.ok(point.corrected !== null);
    assert.ok(point.corrected.happy > 0.7, 'correction sharpens the observed 70% happy');
    assert.equal(toSeriesPoint(T0, stats, null).corrected, null);
    assert.deepEqual(point.topCounts, { happy: 7, sad: 3, angry: 0, surprised: 0, scared: 0, disgusted: 0 });
  });
});

describe('SpikeDetector', () => {
  const settings: DetectorSettings = { level: 0.01, forWindows: 2, minCount: 30, alpha: 0.2, warmupWindows: 3, cooldownWindows: 2 };
  const windowOf = (scaredShare: number, n = 200) => {
    const stats = emptyStats();
    for (let i = 0; i < n; i++) {
      // Alternate so the per-post variance is not zero.
      const scared = Math.min(1, Math.max(0, scaredShare + (i % 2 === 0 ? 0.02 : -0.02)));
      addContribution(stats, contributionOf(scoredPost({ postId: `w${i}`, timestamp: T0, probabilities: [1 - scared, 0, 0, 0, scared, 0] })));
    }
    return stats;
  };
  const run = (detector: SpikeDetector, shares: number[], n = 200) =>
    shares.map((share, w) => detector.evaluate(T0 + w * 60_000, 60_000, new Map([['t', windowOf(share, n)]])).filter((v) => v.fires && v.emotion === 'scared').length);

  it('needs K consecutive significant windows, holds while firing, and cools down before firing again', () => {
    const detector = new SpikeDetector(settings);
    //               warm-up        spike(3)        quiet  spike again within cool-down   later spike
    const fired = run(detector, [0.05, 0.05, 0.05, 0.05, 0.3, 0.3, 0.3, 0.05, 0.3, 0.3, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.6, 0.6]);
    assert.deepEqual(fired, [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('ignores windows below the minimum count and does not alert before the baseline is warm', () => {
    const detector = new SpikeDetector(settings);
    assert.deepEqual(run(detector, [0.05, 0.5, 0.5]), [0, 0, 0], 'not warm');
    const small = new SpikeDetector(settings);
    assert.deepEqual(run(small, [0.05, 0.05, 0.05, 0.05, 0.9, 0.9, 0.9], 10), [0, 0, 0, 0, 0, 0, 0], 'below min count');
  });

  it('is one-sided: a drop never alerts', () => {
    const detector = new SpikeDetector(settings);
    assert.deepEqual(run(detector, [0.5, 0.5, 0.5, 0.5, 0.05, 0.05, 0.05]), [0, 0, 0, 0, 0, 0, 0]);
  });

  it('corrects the level for the number of pairs watched and survives a JSON round trip', () => {
    const detector = new SpikeDetector(settings);
    const verdicts = detector.evaluate(T0, 60_000, new Map([['a', windowOf(0.05)], ['b', windowOf(0.05)], ['c', null]]));
    assert.equal(verdicts.length, 18);
    assert.ok(verdicts.every((v) => Math.abs(v.threshold - 0.01 / 18) < 1e-15));
    detector.forget('c');
    assert.ok(detector.evaluate(T0 + 60_000, 60_000, new Map()).every((v) => Math.abs(v.threshold - 0.01 / 12) < 1e-15), 'a forgotten topic leaves the family');
    const restored = new SpikeDetector(settings, JSON.parse(JSON.stringify(detector.snapshot())));
    assert.deepEqual(restored.snapshot(), detector.snapshot());
    assert.equal(restored.evaluate(T0, 60_000, new Map(), 60)[0]?.threshold, 0.01 / 60);
  });
});
