import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gaussian, seededRandom } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import type { BucketStats } from '../src/bucket';
import { SpikeDetector, type DetectorSettings, type DetectorState, type PairVerdict } from '../src/detector';
import { betweenVariance, foldResidual, freshDispersion } from '../src/dispersion';
import { BASELINE_SHARES } from '../src/synthetic';
import { sampleCount, sampleWindowStats, windowShares } from '../src/synthetic-windows';
import { T0 } from './fixtures';

const MINUTE = 60_000;
const DAY = 1_440;
const SAD = EMOTIONS.indexOf('sad');
const DISGUSTED = EMOTIONS.indexOf('disgusted');
/** The shipped defaults (trends config), written out so a change of default is a visible test change. */
const settings: DetectorSettings = { level: 0.01, forWindows: 2, minCount: 30, alpha: 0.1, warmupWindows: 10, cooldownWindows: 10 };
const legacy: DetectorSettings = { ...settings, overdispersion: false, seasonal: false };

/** Runs one topic through `minutes` windows; `multiplier` scales the focus emotion's share per minute. */
function stream(detector: SpikeDetector, options: { minutes: number; rate: number; jitter: number; focus: number; multiplier?: (minute: number) => number; seed?: number }) {
  const random = seededRandom(options.seed ?? 7);
  const fired: { minute: number; verdict: PairVerdict }[] = [];
  for (let minute = 0; minute < options.minutes; minute++) {
    const shares = windowShares({ base: BASELINE_SHARES, jitter: options.jitter, focus: options.focus, multiplier: options.multiplier?.(minute) ?? 1 }, random);
    const windows = new Map<string, BucketStats | null>([['t', sampleWindowStats({ shares, count: sampleCount(options.rate, random), concentration: 5 }, random)]]);
    for (const verdict of detector.evaluate(T0 + minute * MINUTE, MINUTE, windows)) if (verdict.fires) fired.push({ minute, verdict });
  }
  return fired;
}

describe('between-window dispersion', () => {
  it('recovers τ² from forecast errors whose sampling part is known', () => {
    const random = seededRandom(3);
    let state = freshDispersion();
    // Residual = sampling noise (variance 1e-5, known) + real movement (variance 4e-4, to be estimated).
    for (let i = 0; i < 5_000; i++) state = foldResidual(state, Math.sqrt(1e-5) * gaussian(random) + 0.02 * gaussian(random), 1e-5, 0.01);
    assert.ok(Math.abs(betweenVariance(state) / 4e-4 - 1) < 0.3, `τ² ${betweenVariance(state)}`);
  });

  it('is zero for pure sampling noise, and a single outlier moves it by a bounded step', () => {
    const random = seededRandom(4);
    let state = freshDispersion();
    for (let i = 0; i < 2_000; i++) state = foldResidual(state, Math.sqrt(1e-4) * gaussian(random), 1e-4, 0.01);
    assert.ok(betweenVariance(state) < 2e-5, `τ² ${betweenVariance(state)}`);
    const before = betweenVariance(state) + 1e-4;
    const after = foldResidual(state, 1, 1e-4, 0.01);
    assert.ok(betweenVariance(after) + 1e-4 <= before * 1.09, 'the Huber cap holds one huge residual to 9 × variance × weight');
  });
});

describe('SpikeDetector at real volume', () => {
  it('does not alert on an overdispersed stream that the sampling-only statistic alerts on all day', () => {
    const options = { minutes: 6 * 60, rate: 2_000, jitter: 0.1, focus: DISGUSTED };
    const before = stream(new SpikeDetector(legacy), options);
    const after = stream(new SpikeDetector(settings), options);
    assert.ok(before.length > 20, `sampling-only fired ${before.length}`);
    assert.deepEqual(after.map((f) => `${f.minute} ${f.verdict.emotion}`), []);
  });

  it('still catches a 2× shift of a 10% emotion within 3 windows under the same jitter', () => {
    const detector = new SpikeDetector(settings);
    const fired = stream(detector, { minutes: 400, rate: 300, jitter: 0.1, focus: DISGUSTED, multiplier: (m) => (m >= 360 && m < 370 ? 2 : 1) });
    assert.deepEqual(
      fired.map((f) => [f.minute, f.verdict.emotion]),
      [[361, 'disgusted']],
    );
    const { explanation, observed, expected } = fired[0]?.verdict ?? assert.fail('no alert');
    assert.ok(explanation.effectLo > 0 && explanation.effectLo < observed - expected && observed - expected < explanation.effectHi);
    assert.ok(explanation.betweenSd > 0.5 * explanation.samplingSd, 'at 300 posts/min real movement is as large as sampling noise');
    assert.ok(Math.abs(explanation.totalSd ** 2 - (explanation.samplingSd ** 2 + explanation.baselineSd ** 2 + explanation.betweenSd ** 2)) < 1e-12);
    assert.ok(explanation.baselineWindows >= 360);
  });

  it('learns a daily rhythm: an evening step alerts on the first days, not once 3 days are known', () => {
    const evening = (m: number) => ((m % DAY) / 60 >= 18 ? 1.5 : 1);
    const options = { minutes: 5 * DAY, rate: 2_000, jitter: 0.1, focus: SAD, multiplier: evening };
    const days = (fired: { minute: number }[]) => [...new Set(fired.map((f) => Math.floor(f.minute / DAY)))];
    const plain = stream(new SpikeDetector({ ...settings, seasonal: false }), options);
    assert.ok(days(plain).includes(3) && days(plain).includes(4), 'without the hour of day, evenings keep alerting');
    const seasonal = stream(new SpikeDetector(settings), options);
    assert.deepEqual(days(seasonal).filter((d) => d >= 3), [], 'with 3 days of history, evenings are expected');
    assert.ok(days(seasonal).includes(0), 'before 3 days it falls back to the plain baseline');
  });

  it('does not mistake a young baseline\'s noise at low volume for real movement', () => {
    // Pure sampling noise, 80 posts a minute, scared at 5%: what the demo's topics look like before their spike.
    const detector = new SpikeDetector(settings);
    const random = seededRandom(11);
    const SCARED = EMOTIONS.indexOf('scared');
    let last: PairVerdict | undefined;
    // The first window happens to hold almost no scared posts, so the young baseline starts near 0.
    const first = BASELINE_SHARES.map((s, i) => (i === SCARED ? 0.003 : i === 0 ? s + 0.047 : s));
    for (let minute = 0; minute < 15; minute++) {
      const shares = minute === 0 ? first : BASELINE_SHARES;
      const windows = new Map<string, BucketStats | null>([['t', sampleWindowStats({ shares, count: 80, concentration: 1 }, random)]]);
      last = detector.evaluate(T0 + minute * MINUTE, MINUTE, windows).find((v) => v.emotionIndex === SCARED);
    }
    const why = last?.explanation ?? assert.fail('no verdict');
    // The odd first window did move; what must not happen is 15 windows later still reading it as a topic whose
    // scared share jitters by several times its sampling noise (it read 20× before the baseline's start was fixed).
    assert.ok(why.betweenSd < 2 * why.samplingSd, `between ${why.betweenSd} vs sampling ${why.samplingSd}`);
  });

  it('loads a detector state written before dispersion and seasonality existed', () => {
    // Exactly what the pre-issue-11 code persisted for one topic.
    const pair = (baseline: number) => ({ baseline, baselineSe2: 1e-4, windows: 50, streak: 0, firing: false, quietUntil: 0 });
    const old = JSON.parse(JSON.stringify({ pairs: { t: BASELINE_SHARES.map(pair) } })) as DetectorState;
    const detector = new SpikeDetector(settings, old);
    const fired = stream(detector, { minutes: 30, rate: 300, jitter: 0, focus: DISGUSTED });
    assert.deepEqual(fired, []);
    const state = detector.snapshot().pairs['t']?.[DISGUSTED];
    assert.equal(state?.windows, 80);
    assert.equal(state?.dispersion?.windows, 30);
    assert.equal(state?.seasonal?.windows.reduce((a, b) => a + b, 0), 30);
  });
});
