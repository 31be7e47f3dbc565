import { EMOTION_COUNT, EMOTIONS, type Emotion } from '@moodstream/events';
import type { BucketStats } from './bucket';
import { betweenVariance, DISPERSION_CAP, foldResidual, freshDispersion, type DispersionState } from './dispersion';
import { meanShare, perPostVariance } from './estimate';
import { upperTail, Z95 } from './normal';
import { foldSeasonal, freshSeasonal, hourOfDay, seasonalForecast, type SeasonalState } from './seasonal';

export interface DetectorSettings {
  /** Family-wise level α; each test uses α / pairs (Bonferroni). */
  level: number;
  /** Consecutive significant windows needed (Prometheus `for:`). */
  forWindows: number;
  minCount: number;
  alpha: number;
  warmupWindows: number;
  cooldownWindows: number;
  /**
   * Count the share's real movement between windows in the variance (see dispersion.ts). Off, the statistic
   * uses sampling variance alone — the pre-issue-11 detector, kept for the bench's "before" row.
   */
  overdispersion?: boolean;
  /** EWMA weight of the between-window variance estimate (memory ≈ 1/weight windows). */
  dispersionWeight?: number;
  /** Correct the baseline for the hour of day once learnt (see seasonal.ts). */
  seasonal?: boolean;
}

/** Per topic × emotion memory between windows. Plain JSON so it can be persisted and restored. */
export interface PairState {
  /** EWMA of the share over the preceding windows; null before the first usable window. */
  baseline: number | null;
  /** EWMA of the share estimator's variance (σ²/n) over the same windows. */
  baselineSe2: number;
  /** Windows folded into the baseline so far. */
  windows: number;
  /** Consecutive significant windows up to the last one evaluated. */
  streak: number;
  firing: boolean;
  /** No new alert before this window start (set when an alert resolves). */
  quietUntil: number;
  /** Between-window variance; absent in state written before it existed (then it starts fresh). */
  dispersion?: DispersionState;
  /** Hour-of-day correction; absent in state written before it existed. */
  seasonal?: SeasonalState;
}

/**
 * One topic's own alert rule (an operator's, see alert-rules-store.ts): every field set, the defaults filled in. A
 * topic without one is evaluated with the detector's settings alone, exactly as before rules existed.
 */
export interface TopicAlertRule {
  enabled: boolean;
  /** Emotions that may fire; the others are still tested and learn, but never alert. */
  emotions: readonly Emotion[];
  /** The topic's family-wise level; the Bonferroni divisor stays the whole family's pair count. */
  level: number;
  minCount: number;
  forWindows: number;
  /** No alert for windows starting before this (epoch ms); null: not muted. */
  mutedUntil: number | null;
}

export interface DetectorState {
  pairs: Record<string, PairState[]>;
}

export interface PairVerdict {
  topic: string;
  emotion: Emotion;
  emotionIndex: number;
  observed: number;
  /** The forecast share tested against: the baseline, plus the hour-of-day correction when it applies. */
  expected: number;
  count: number;
  statistic: number;
  pValue: number;
  threshold: number;
  significant: boolean;
  /** True exactly when this window makes the pair alert. */
  fires: boolean;
  /** Why: the numbers behind the statistic. */
  explanation: VerdictExplanation;
}

export interface VerdictExplanation {
  /** observed − expected, and its 95% interval with the test's standard deviation. */
  effect: number;
  effectLo: number;
  effectHi: number;
  /** Plain EWMA baseline share and the windows folded into it. */
  baseline: number;
  baselineWindows: number;
  /** Hour-of-day index in the expected share (null when the hour is not learnt yet, or off) and the UTC hour. */
  seasonalIndex: number | null;
  hourOfDay: number;
  /** Standard deviations of the window's sampling noise, the baseline's noise and the between-window movement. */
  samplingSd: number;
  baselineSd: number;
  betweenSd: number;
  totalSd: number;
}

const freshPair = (): PairState => ({
  baseline: null,
  baselineSe2: 0,
  windows: 0,
  streak: 0,
  firing: false,
  quietUntil: 0,
  dispersion: freshDispersion(),
  seasonal: freshSeasonal(),
});

/** Variance floor, so a window of identical scores cannot produce an infinite statistic. */
const MIN_VARIANCE = 1e-6;
/**
 * Weight of the newest window in the baseline: a running mean over the first 1/α windows, then the EWMA. Started at
 * the first window's share with weight α, as the pre-issue-11 detector did, a baseline that began on one odd window
 * stayed wrong for 20 windows — long past the warm-up — and the dispersion estimate took that error for real
 * movement. (The old weighting stays with `overdispersion: false`, so the bench's "before" is the old detector.)
 */
const baselineWeight = (pair: PairState, alpha: number, overdispersion: boolean): number =>
  overdispersion ? Math.max(alpha, 1 / (pair.windows + 1)) : alpha;

/**
 * Sampling variance of the baseline: v/k while it is a running mean of k windows, then v · α/(2 − α) for the EWMA
 * (the larger of the two, a slightly conservative blend between). v is the larger of the baseline's own average σ²/n
 * and this window's, so a baseline that began on near-empty windows is not taken as precise.
 */
function youngBaselineVariance(pair: PairState, se2: number, alpha: number): number {
  return Math.max(pair.baselineSe2, se2) * Math.max(alpha / (2 - alpha), 1 / Math.max(1, pair.windows));
}

/** Smallest share the relative dispersion is scaled by. */
const MIN_SCALE = 1e-3;
/** Default memory of the between-window variance: about 100 windows (under two hours of 1-minute windows). */
export const DEFAULT_DISPERSION_WEIGHT = 0.01;

/**
 * Spike detection per topic × emotion, one closed window at a time:
 * z = (observed − expected) / √(σ²/n + Var(baseline) + τ²), one-sided, with σ² the per-post variance of the
 * emotion's probability in the window, expected the EWMA baseline (the hour-of-day forecast once learnt) and τ²
 * how much the share really moves between windows (dispersion.ts). A window is significant when n ≥ min count,
 * the baseline is warm and p < α / pairs. An alert fires when `forWindows` consecutive windows are significant,
 * then holds (no repeat) until a window is not significant, after which the pair stays quiet for the cool-down.
 */
export class SpikeDetector {
  private readonly state: DetectorState;

  constructor(
    private readonly settings: DetectorSettings,
    state?: DetectorState,
  ) {
    this.state = state ?? { pairs: {} };
  }

  snapshot(): DetectorState {
    return structuredClone(this.state);
  }

  topics(): string[] {
    return Object.keys(this.state.pairs);
  }

  /** Starts watching a topic (its pairs count toward the Bonferroni correction from now on). */
  watch(topic: string): void {
    if (this.state.pairs[topic] === undefined) this.state.pairs[topic] = Array.from({ length: EMOTION_COUNT }, freshPair);
  }

  /**
   * Marks a pair as firing: its alert for the window just evaluated stands although this evaluation did not fire it
   * (a replay after late posts, late-decisions.ts — an alert is never retracted, and its episode goes on from it).
   */
  keepFiring(topic: string, emotionIndex: number): void {
    const pair = this.state.pairs[topic]?.[emotionIndex];
    if (pair !== undefined) pair.firing = true;
  }

  /** Stops watching a topic that went quiet: it leaves the Bonferroni family and its memory is dropped. */
  forget(topic: string): void {
    delete this.state.pairs[topic];
  }

  /**
   * Evaluates one closed window. `windows` maps every watched topic to its bucket (null when empty).
   * `pairsOverride` lets a replay use the live family size so it fires exactly what live would have.
   * `rules` holds the topics with a rule of their own; every other topic uses the settings.
   */
  evaluate(
    windowStart: number,
    windowMs: number,
    windows: Map<string, BucketStats | null>,
    pairsOverride?: number,
    rules?: ReadonlyMap<string, TopicAlertRule>,
  ): PairVerdict[] {
    for (const topic of windows.keys()) this.watch(topic);
    const pairs = Math.max(pairsOverride ?? 0, this.topics().length * EMOTION_COUNT);
    const verdicts: PairVerdict[] = [];
    for (const [topic, states] of Object.entries(this.state.pairs)) {
      const stats = windows.get(topic) ?? null;
      const rule = rules?.get(topic);
      const threshold = (rule?.level ?? this.settings.level) / Math.max(1, pairs);
      states.forEach((pair, i) => verdicts.push(this.evaluatePair(topic, i, pair, stats, windowStart, windowMs, threshold, rule)));
    }
    return verdicts;
  }

  private evaluatePair(
    topic: string,
    i: number,
    pair: PairState,
    stats: BucketStats | null,
    windowStart: number,
    windowMs: number,
    threshold: number,
    rule: TopicAlertRule | undefined,
  ): PairVerdict {
    const { alpha } = this.settings;
    const minCount = rule?.minCount ?? this.settings.minCount;
    const forWindows = rule?.forWindows ?? this.settings.forWindows;
    // A rule that is off, mutes this window or leaves this emotion out lets the pair be tested and learn, never fire.
    const mayFire = rule === undefined || (rule.enabled && rule.emotions.includes(EMOTIONS[i] as Emotion) && (rule.mutedUntil === null || windowStart >= rule.mutedUntil));
    const overdispersion = this.settings.overdispersion ?? true;
    // State persisted before these existed loads without them: they start fresh, the rest carries on.
    pair.dispersion ??= freshDispersion();
    pair.seasonal ??= freshSeasonal();
    const count = stats?.count ?? 0;
    const usable = stats !== null && count >= minCount;
    const observed = usable ? meanShare(stats, i) : 0;
    const se2 = usable ? Math.max(perPostVariance(stats, i), MIN_VARIANCE) / count : 0;
    const baseline = pair.baseline ?? 0;
    const seasonal = (this.settings.seasonal ?? true) ? seasonalForecast(pair.seasonal, windowStart, windowMs) : null;
    const expected = seasonal?.forecast ?? baseline;
    const baselineVariance = overdispersion ? youngBaselineVariance(pair, se2, alpha) : (pair.baselineSe2 * alpha) / (2 - alpha);
    // Dispersion is relative to the forecast (dispersion.ts). A forecast smaller than its own noise (a rare emotion,
    // or a young baseline that happened to start low) is no scale to measure movement by: dividing by it turned
    // ordinary sampling noise into a huge relative jitter that then took ~100 windows to wash out.
    const known = se2 + baselineVariance;
    const scale = Math.max(expected, Math.sqrt(known), MIN_SCALE);
    const between = overdispersion ? betweenVariance(pair.dispersion) * scale * scale : 0;
    const total = known + between;
    const warm = pair.baseline !== null && pair.windows >= this.settings.warmupWindows;
    let statistic = 0;
    let pValue = 1;
    if (usable && warm) {
      statistic = (observed - expected) / Math.sqrt(total);
      pValue = upperTail(statistic);
    }
    const significant = usable && warm && observed > expected && pValue < threshold;
    pair.streak = significant ? pair.streak + 1 : 0;
    let fires = false;
    if (significant) {
      if (mayFire && !pair.firing && pair.streak >= forWindows && windowStart >= pair.quietUntil) {
        pair.firing = true;
        fires = true;
      }
    } else if (pair.firing) {
      pair.firing = false;
      pair.quietUntil = windowStart + (this.settings.cooldownWindows + 1) * windowMs;
    }
    if (usable) {
      // What is normal is learnt outside alert episodes only: a significant window, and the cool-down after an
      // alert (while the baseline, which did follow the spike, comes back down), would teach the dispersion and
      // the hour-of-day index that spikes are normal, and the next spike would be missed.
      const learns = !significant && windowStart >= pair.quietUntil;
      if (pair.baseline !== null && learns) {
        const weight = this.settings.dispersionWeight ?? DEFAULT_DISPERSION_WEIGHT;
        pair.dispersion = foldResidual(pair.dispersion, (observed - expected) / scale, known / (scale * scale), weight);
      }
      // The hour-of-day model learns from the share clipped to the forecast ± 3 sd (Huber), like the dispersion.
      const limit = DISPERSION_CAP * Math.sqrt(total);
      const clipped = !warm ? observed : expected + Math.max(-limit, Math.min(limit, observed - expected));
      foldSeasonal(pair.seasonal, windowStart, windowMs, clipped, alpha, learns);
      const w = baselineWeight(pair, alpha, overdispersion);
      pair.baseline = pair.baseline === null ? observed : w * observed + (1 - w) * pair.baseline;
      pair.baselineSe2 = pair.windows === 0 ? se2 : w * se2 + (1 - w) * pair.baselineSe2;
      pair.windows += 1;
    }
    const totalSd = Math.sqrt(total);
    const effect = observed - expected;
    return {
      topic,
      emotion: EMOTIONS[i] as Emotion,
      emotionIndex: i,
      observed,
      expected,
      count,
      statistic,
      pValue,
      threshold,
      significant,
      fires,
      explanation: {
        effect,
        effectLo: effect - Z95 * totalSd,
        effectHi: effect + Z95 * totalSd,
        baseline,
        baselineWindows: pair.windows - (usable ? 1 : 0),
        seasonalIndex: seasonal?.index ?? null,
        hourOfDay: hourOfDay(windowStart),
        samplingSd: Math.sqrt(se2),
        baselineSd: Math.sqrt(baselineVariance),
        betweenSd: Math.sqrt(between),
        totalSd,
      },
    };
  }
}
