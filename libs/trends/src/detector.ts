import { EMOTION_COUNT, EMOTIONS, type Emotion } from '@moodstream/events';
import type { BucketStats } from './bucket';
import { meanShare, perPostVariance } from './estimate';
import { upperTail } from './normal';

export interface DetectorSettings {
  /** Family-wise level α; each test uses α / pairs (Bonferroni). */
  level: number;
  /** Consecutive significant windows needed (Prometheus `for:`). */
  forWindows: number;
  minCount: number;
  alpha: number;
  warmupWindows: number;
  cooldownWindows: number;
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
}

export interface DetectorState {
  pairs: Record<string, PairState[]>;
}

export interface PairVerdict {
  topic: string;
  emotion: Emotion;
  emotionIndex: number;
  observed: number;
  expected: number;
  count: number;
  statistic: number;
  pValue: number;
  threshold: number;
  significant: boolean;
  /** True exactly when this window makes the pair alert. */
  fires: boolean;
}

const freshPair = (): PairState => ({ baseline: null, baselineSe2: 0, windows: 0, streak: 0, firing: false, quietUntil: 0 });

/** Variance floor, so a window of identical scores cannot produce an infinite statistic. */
const MIN_VARIANCE = 1e-6;

/**
 * Spike detection per topic × emotion, one closed window at a time:
 * z = (observed − EWMA baseline) / √(σ²/n + Var(baseline)), one-sided, with σ² the per-post variance of the
 * emotion's probability in the window. A window is significant when n ≥ min count, the baseline is warm and
 * p < α / pairs. An alert fires when `forWindows` consecutive windows are significant, then holds (no repeat)
 * until a window is not significant, after which the pair stays quiet for the cool-down.
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

  /** Stops watching a topic that went quiet: it leaves the Bonferroni family and its memory is dropped. */
  forget(topic: string): void {
    delete this.state.pairs[topic];
  }

  /**
   * Evaluates one closed window. `windows` maps every watched topic to its bucket (null when empty).
   * `pairsOverride` lets a replay use the live family size so it fires exactly what live would have.
   */
  evaluate(windowStart: number, windowMs: number, windows: Map<string, BucketStats | null>, pairsOverride?: number): PairVerdict[] {
    for (const topic of windows.keys()) this.watch(topic);
    const pairs = Math.max(pairsOverride ?? 0, this.topics().length * EMOTION_COUNT);
    const threshold = this.settings.level / Math.max(1, pairs);
    const { alpha } = this.settings;
    const verdicts: PairVerdict[] = [];
    for (const [topic, states] of Object.entries(this.state.pairs)) {
      const stats = windows.get(topic) ?? null;
      const count = stats?.count ?? 0;
      states.forEach((pair, i) => {
        const usable = stats !== null && count >= this.settings.minCount;
        let observed = 0;
        let statistic = 0;
        let pValue = 1;
        let se2 = 0;
        if (usable) {
          observed = meanShare(stats, i);
          se2 = Math.max(perPostVariance(stats, i), MIN_VARIANCE) / count;
        }
        const expected = pair.baseline ?? 0;
        const warm = pair.baseline !== null && pair.windows >= this.settings.warmupWindows;
        if (usable && warm) {
          // An EWMA of independent estimates with variance v has variance v · α / (2 − α).
          const baselineVariance = (pair.baselineSe2 * alpha) / (2 - alpha);
          statistic = (observed - expected) / Math.sqrt(se2 + baselineVariance);
          pValue = upperTail(statistic);
        }
        const significant = usable && warm && observed > expected && pValue < threshold;
        pair.streak = significant ? pair.streak + 1 : 0;
        let fires = false;
        if (significant) {
          if (!pair.firing && pair.streak >= this.settings.forWindows && windowStart >= pair.quietUntil) {
            pair.firing = true;
            fires = true;
          }
        } else if (pair.firing) {
          pair.firing = false;
          pair.quietUntil = windowStart + (this.settings.cooldownWindows + 1) * windowMs;
        }
        if (usable) {
          pair.baseline = pair.baseline === null ? observed : alpha * observed + (1 - alpha) * pair.baseline;
          pair.baselineSe2 = pair.windows === 0 ? se2 : alpha * se2 + (1 - alpha) * pair.baselineSe2;
          pair.windows += 1;
        }
        verdicts.push({
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
        });
      });
    }
    return verdicts;
  }
}
