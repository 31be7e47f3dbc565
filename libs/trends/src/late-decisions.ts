import { EMOTION_COUNT } from '@moodstream/events';
import type { BucketStats } from './bucket';
import { testShare, verdictOf, type PairDecision, type PairEpisode, type PairVerdict, type SpikeDetector } from './detector';
import { hourOfDay } from './seasonal';

/**
 * Late posts re-open a decided alert window (issue 12). A window is decided once the watermark passes its end +
 * settle time; posts that arrive after that but within the allowed lateness are counted, and without this the
 * decision made on part of the window's posts would stand (a broker outage whose backlog arrives out of order cost
 * the planted alert). So the owner keeps, for each recently decided window, what the detector tested each pair
 * against — the expected share, the baseline's variance inputs, the relative dispersion, the threshold, the rule's
 * say and the pair's episode state before the window — and the bucket count it tested. When a window's count
 * changed, its pairs are tested again on the new counts against those same inputs (not against a baseline that has
 * moved on since), and the episode (streak, firing, cool-down) is replayed over the kept windows, oldest first:
 *
 * - a window that now completes `forWindows` significant windows fires — once: alert ids are deterministic, and a
 *   significant run that already has an alert (earlier or later in the run) gets no second one;
 * - a fired alert is never retracted: its window stays fired whatever a re-test says;
 * - the live pair's streak, firing and cool-down are set to the replay's end, so the next window carries on from the
 *   revised episode (the baselines and dispersion learnt from the partial window are left: re-learning them would
 *   make every later decision depend on arrival order).
 *
 * Bounded: a window is kept until its end + the allowed lateness has passed (no post can change it after that), at
 * most MAX_DECIDED_WINDOWS windows. The records are plain JSON, persisted with the detector state, so a restarted
 * or new alert owner (alert-owner.ts) carries on.
 */
export const MAX_DECIDED_WINDOWS = 30;

/** Pair record: the test inputs, the rule, the episode before the window, and what was decided. */
interface DecidedPair {
  /** expected, baselineSe2, baselineWindows, betweenRelative, baseline, seasonalIndex (null: none). */
  e: number;
  bs: number;
  bw: number;
  br: number;
  b: number;
  si: number | null;
  /** Flags: warm, mayFire, significant (latest test), fired, firing before the window. */
  f: number;
  /** Streak and quiet-until before the window. */
  s: number;
  q: number;
}

interface DecidedTopic {
  /** Posts the latest test saw, and the first decision. */
  count: number;
  firstCount: number;
  threshold: number;
  minCount: number;
  forWindows: number;
  pairs: DecidedPair[];
}

export interface DecidedWindow {
  start: number;
  /** When it was first decided (the clock). */
  at: number;
  topics: Record<string, DecidedTopic>;
}

const WARM = 1;
const MAY_FIRE = 2;
const SIGNIFICANT = 4;
const FIRED = 8;
const FIRING_BEFORE = 16;

/** A window that fired on its re-test: the verdict, and what the first decision saw. */
export interface LateVerdict {
  start: number;
  verdict: PairVerdict;
  firstDecidedAt: number;
  firstCount: number;
}

export class DecidedWindows {
  private windows: DecidedWindow[];

  constructor(
    /** How many windows to keep (0: none, late posts never re-open a window — replays). */
    private readonly keep: number,
    private readonly windowMs: number,
    saved?: DecidedWindow[],
  ) {
    this.windows = keep === 0 || saved === undefined ? [] : saved.slice(-keep);
  }

  snapshot(): DecidedWindow[] {
    return structuredClone(this.windows);
  }

  get size(): number {
    return this.windows.length;
  }

  /** Starts of the kept windows, oldest first. */
  starts(): number[] {
    return this.windows.map((w) => w.start);
  }

  /** Whether a window is kept (a late post into it may change its decision). */
  has(start: number): boolean {
    return this.windows.some((w) => w.start === start);
  }

  /** Every kept (window, topic) with the count it was last tested on. */
  tested(): { start: number; topic: string; count: number }[] {
    return this.windows.flatMap((w) => Object.entries(w.topics).map(([topic, t]) => ({ start: w.start, topic, count: t.count })));
  }

  /** Keeps what the detector decided for one window (its verdicts, every watched pair). */
  record(start: number, at: number, verdicts: readonly PairVerdict[]): void {
    if (this.keep === 0) return;
    const topics: Record<string, DecidedTopic> = {};
    for (const v of verdicts) {
      const d: PairDecision = v.decision;
      const topic = (topics[v.topic] ??= { count: v.count, firstCount: v.count, threshold: d.inputs.threshold, minCount: d.inputs.minCount, forWindows: d.forWindows, pairs: [] });
      topic.pairs[v.emotionIndex] = {
        e: d.inputs.expected,
        bs: d.inputs.baselineSe2,
        bw: d.inputs.baselineWindows,
        br: d.inputs.betweenRelative,
        b: d.baseline,
        si: d.seasonalIndex,
        f: (d.inputs.warm ? WARM : 0) | (d.mayFire ? MAY_FIRE : 0) | (v.significant ? SIGNIFICANT : 0) | (v.fires ? FIRED : 0) | (d.before.firing ? FIRING_BEFORE : 0),
        s: d.before.streak,
        q: d.before.quietUntil,
      };
    }
    this.windows = this.windows.filter((w) => w.start !== start);
    this.windows.push({ start, at, topics });
    this.windows.sort((a, b) => a.start - b.start);
    if (this.windows.length > this.keep) this.windows.splice(0, this.windows.length - this.keep);
  }

  /** Forgets windows no post can change any more: their end + the allowed lateness is at or before the watermark. */
  expire(watermark: number, latenessMs: number): void {
    this.windows = this.windows.filter((w) => w.start + this.windowMs + latenessMs > watermark);
  }

  /**
   * Tests again the kept windows whose counts changed (`fresh`: window start → topic → bucket now), then replays
   * each changed topic's episodes over the kept windows and sets the detector's pairs to the result. Returns the
   * windows that fire now and had not, oldest first.
   */
  revise(detector: SpikeDetector, fresh: ReadonlyMap<number, ReadonlyMap<string, BucketStats | null>>): LateVerdict[] {
    const settings = detector.decisionSettings;
    const changedTopics = new Set<string>();
    const retested = new Map<string, ReturnType<typeof testShare>>();
    for (const w of this.windows) {
      const buckets = fresh.get(w.start);
      if (buckets === undefined) continue;
      for (const [topic, stats] of buckets) {
        const t = w.topics[topic];
        const count = stats?.count ?? 0;
        if (t === undefined || count === t.count) continue;
        t.count = count;
        changedTopics.add(topic);
        t.pairs.forEach((p, i) => {
          const test = testShare(settings, inputsOf(p, t), stats, i);
          retested.set(`${w.start}\u0000${topic}\u0000${i}`, test);
          // A fired window stays fired (never retracted); it may only become significant, or stop being so.
          p.f = test.significant ? p.f | SIGNIFICANT : p.f & ~SIGNIFICANT;
        });
      }
    }
    const late: LateVerdict[] = [];
    for (const topic of changedTopics) {
      for (let i = 0; i < EMOTION_COUNT; i++) late.push(...this.replayEpisode(detector, topic, i, fresh, retested));
    }
    return late.sort((a, b) => a.start - b.start || a.verdict.topic.localeCompare(b.verdict.topic) || a.verdict.emotionIndex - b.verdict.emotionIndex);
  }

  /** Replays one pair's streak / firing / cool-down over the kept windows, as the detector would have decided them. */
  private replayEpisode(
    detector: SpikeDetector,
    topic: string,
    i: number,
    fresh: ReadonlyMap<number, ReadonlyMap<string, BucketStats | null>>,
    retested: ReadonlyMap<string, ReturnType<typeof testShare>>,
  ): LateVerdict[] {
    const cooldown = detector.decisionSettings.cooldownWindows;
    const fired: LateVerdict[] = [];
    let episode: PairEpisode | null = null;
    this.windows.forEach((w, index) => {
      const t = w.topics[topic];
      const p = t?.pairs[i];
      if (t === undefined || p === undefined) {
        episode = null; // not watched in this window: the pair started afresh after it
        return;
      }
      episode ??= { streak: p.s, firing: (p.f & FIRING_BEFORE) !== 0, quietUntil: p.q };
      const significant = (p.f & SIGNIFICANT) !== 0;
      episode.streak = significant ? episode.streak + 1 : 0;
      if ((p.f & FIRED) !== 0) {
        episode.firing = true; // fired once, stays fired
        return;
      }
      if (significant) {
        if ((p.f & MAY_FIRE) !== 0 && !episode.firing && episode.streak >= t.forWindows && w.start >= episode.quietUntil) {
          episode.firing = true;
          if (this.runHasAlert(topic, i, index)) return;
          const stats = fresh.get(w.start)?.get(topic) ?? null;
          const test = retested.get(`${w.start}\u0000${topic}\u0000${i}`) ?? testShare(detector.decisionSettings, inputsOf(p, t), stats, i);
          p.f |= FIRED;
          const verdict = verdictOf(topic, i, test, inputsOf(p, t), t.count, true, { baseline: p.b, baselineWindows: p.bw, seasonalIndex: p.si, hourOfDay: hourOfDay(w.start) });
          fired.push({ start: w.start, firstDecidedAt: w.at, firstCount: t.firstCount, verdict: { ...verdict, decision: decisionOf(p, t) } });
        }
      } else if (episode.firing) {
        episode.firing = false;
        episode.quietUntil = w.start + (cooldown + 1) * this.windowMs;
      }
    });
    if (episode !== null) detector.setEpisode(topic, i, episode);
    return fired;
  }

  /** Whether the significant run around window `index` already holds a fired alert (one alert per episode). */
  private runHasAlert(topic: string, i: number, index: number): boolean {
    for (const step of [-1, 1]) {
      for (let j = index + step; j >= 0 && j < this.windows.length; j += step) {
        const p = this.windows[j]?.topics[topic]?.pairs[i];
        if (p === undefined || (p.f & SIGNIFICANT) === 0) break;
        if ((p.f & FIRED) !== 0) return true;
      }
    }
    return false;
  }
}

function inputsOf(p: DecidedPair, t: DecidedTopic): PairDecision['inputs'] {
  return { expected: p.e, baselineSe2: p.bs, baselineWindows: p.bw, betweenRelative: p.br, warm: (p.f & WARM) !== 0, minCount: t.minCount, threshold: t.threshold };
}

function decisionOf(p: DecidedPair, t: DecidedTopic): PairDecision {
  return {
    inputs: inputsOf(p, t),
    baseline: p.b,
    seasonalIndex: p.si,
    mayFire: (p.f & MAY_FIRE) !== 0,
    forWindows: t.forWindows,
    before: { streak: p.s, firing: (p.f & FIRING_BEFORE) !== 0, quietUntil: p.q },
  };
}
