import type { BucketStats } from './bucket';
import type { DetectorState, PairVerdict, SpikeDetector } from './detector';

/**
 * Late posts re-open a decided alert window (issue 12). A window is decided once the watermark passes its end +
 * settle time; posts that arrive after that but within the allowed lateness are counted, and without this the
 * decisions made on part of the windows' posts stood: after a broker outage whose backlog arrived out of event-time
 * order, the reliability suite's planted alert was decided on windows that held 0–9 of their ~40 posts, and the
 * baseline had not even warmed up by then (those windows were too small to learn from), so no re-test of the spike
 * windows alone could fire.
 *
 * So the alert owner keeps the detector state from just before the oldest window that late posts can still change,
 * and, for each window decided since, the topics it watched, the post count of each and which pairs fired. When a
 * kept window's count changed, the detector is **replayed** from that state over the kept windows, oldest first, on
 * their buckets as they are now — the decisions become those a run without the disorder would have made, whatever
 * order the posts arrived in — and the replayed detector replaces the live one (baselines, dispersion, streaks and
 * all), so the next window carries on from it. Of what the replay fires:
 *
 * - a window that fired already stays fired (ids are deterministic; an alert is never stored twice), and its pair is
 *   firing from there in the replay too, as it was live, so the same episode does not fire again further on;
 * - a window that fires now and did not before gets an alert, marked late — unless its pair's significant run (as
 *   replayed) already holds an alert at another window: one alert per episode;
 * - nothing is retracted: an alert stored on part of a window's posts stays, whatever the replay says.
 *
 * Bounded: a window is kept until its end + the allowed lateness has passed (no post can change it after that), at
 * most MAX_DECIDED_WINDOWS windows; when the oldest leaves, the kept state is rolled past it (the detector evaluates
 * it once more, on its final buckets). The state is plain JSON, persisted with the detector's, so a restarted or new
 * alert owner (alert-owner.ts) carries on.
 */
export const MAX_DECIDED_WINDOWS = 30;

export interface DecidedWindow {
  start: number;
  /** When it was first decided (the clock). */
  at: number;
  /** The topics it watched, the posts each had when last decided, and when first decided. */
  topics: string[];
  counts: number[];
  firstCounts: number[];
  /** Pairs that fired in it: `topic\u0000emotionIndex`. */
  fired: string[];
}

export interface DecidedState {
  /** The detector just before the oldest kept window. */
  base: DetectorState;
  windows: DecidedWindow[];
}

/** A window that fires on a replay and had not fired: its verdict, and what the first decision saw. */
export interface LateVerdict {
  start: number;
  verdict: PairVerdict;
  firstDecidedAt: number;
  firstCount: number;
}

/** One window's buckets by topic (null: empty). */
export type WindowBuckets = ReadonlyMap<string, BucketStats | null>;

/** Evaluates one window with a detector, as the engine does (the topics it watches are the buckets' keys). */
export type EvaluateWindow = (detector: SpikeDetector, start: number, buckets: WindowBuckets) => PairVerdict[];

const pairKey = (topic: string, emotionIndex: number): string => `${topic}\u0000${emotionIndex}`;

export class DecidedWindows {
  private base: DetectorState | null;
  private windows: DecidedWindow[];

  constructor(
    /** How many windows to keep (0: none — a replay, which loads everything before it decides anything). */
    readonly keep: number,
    private readonly windowMs: number,
    saved?: DecidedState,
  ) {
    this.base = keep === 0 ? null : (saved?.base ?? null);
    this.windows = keep === 0 || this.base === null ? [] : (saved?.windows ?? []);
  }

  snapshot(): DecidedState | undefined {
    return this.base === null || this.windows.length === 0 ? undefined : structuredClone({ base: this.base, windows: this.windows });
  }

  get size(): number {
    return this.windows.length;
  }

  /** Whether a window is kept (a late post into it may change the decisions). */
  has(start: number): boolean {
    return this.windows.some((w) => w.start === start);
  }

  /** Every kept (window, topic) with the count it was last decided on. */
  tested(): { start: number; topic: string; count: number }[] {
    return this.windows.flatMap((w) => w.topics.map((topic, i) => ({ start: w.start, topic, count: w.counts[i] ?? 0 })));
  }

  /** Called before the detector decides window `start`: the state to replay from, when nothing is kept yet. */
  beforeDecide(detector: SpikeDetector): void {
    if (this.keep > 0 && this.windows.length === 0) this.base = detector.snapshot();
  }

  /** Keeps what was decided for one window. */
  record(start: number, at: number, buckets: WindowBuckets, verdicts: readonly PairVerdict[]): void {
    if (this.keep === 0 || this.base === null) return;
    const topics = [...buckets.keys()];
    const counts = topics.map((topic) => buckets.get(topic)?.count ?? 0);
    const fired = verdicts.filter((v) => v.fires).map((v) => pairKey(v.topic, v.emotionIndex));
    this.windows.push({ start, at, topics, counts, firstCounts: [...counts], fired });
  }

  /** The oldest kept window when it must go: no post can change it any more, or more than `keep` are kept. */
  expiring(watermark: number, latenessMs: number): DecidedWindow | null {
    const oldest = this.windows[0];
    if (oldest === undefined) return null;
    return this.windows.length > this.keep || oldest.start + this.windowMs + latenessMs <= watermark ? oldest : null;
  }

  /** Drops the oldest window, rolling the kept state past it (the detector decides it once more on `buckets`). */
  roll(buckets: WindowBuckets, evaluate: EvaluateWindow, detectorOf: (state: DetectorState) => SpikeDetector): void {
    const oldest = this.windows.shift();
    if (oldest === undefined || this.base === null) return;
    if (this.windows.length === 0) {
      this.base = null;
      return;
    }
    const detector = detectorOf(structuredClone(this.base));
    evaluate(detector, oldest.start, buckets);
    this.base = detector.snapshot();
  }

  /**
   * Replays the detector over the kept windows on `fresh` (every kept window's buckets now). Null when no count
   * changed; otherwise the replayed detector (to take the live one's place) and the windows that fire now and had not.
   */
  replay(fresh: ReadonlyMap<number, WindowBuckets>, evaluate: EvaluateWindow, detectorOf: (state: DetectorState) => SpikeDetector): { detector: SpikeDetector; late: LateVerdict[] } | null {
    if (this.base === null) return null;
    const changed = this.windows.some((w) => w.topics.some((topic, i) => (fresh.get(w.start)?.get(topic)?.count ?? 0) !== w.counts[i]));
    if (!changed) return null;
    const detector = detectorOf(structuredClone(this.base));
    const replayed = this.windows.map((w) => {
      const buckets = fresh.get(w.start) ?? new Map<string, BucketStats | null>();
      const verdicts = evaluate(detector, w.start, new Map(w.topics.map((topic) => [topic, buckets.get(topic) ?? null])));
      w.counts = w.topics.map((topic) => buckets.get(topic)?.count ?? 0);
      // An alert that fired here stands, whatever the replay says: its pair is firing from here on, as it was live.
      for (const key of w.fired) {
        const [topic = '', emotion = ''] = key.split('\u0000');
        if (verdicts.some((v) => v.fires && v.topic === topic && v.emotionIndex === Number(emotion))) continue;
        detector.keepFiring(topic, Number(emotion));
      }
      return new Map(verdicts.map((v) => [pairKey(v.topic, v.emotionIndex), v]));
    });
    const late: LateVerdict[] = [];
    this.windows.forEach((w, index) => {
      for (const [key, verdict] of replayed[index] ?? []) {
        if (!verdict.fires || w.fired.includes(key) || this.runHasAlert(replayed, key, index)) continue;
        w.fired.push(key);
        const topicIndex = w.topics.indexOf(verdict.topic);
        late.push({ start: w.start, verdict, firstDecidedAt: w.at, firstCount: w.firstCounts[topicIndex] ?? 0 });
      }
    });
    return { detector, late };
  }

  /** Whether the pair's significant run around window `index` (as replayed) holds an alert at another window. */
  private runHasAlert(replayed: readonly Map<string, PairVerdict>[], key: string, index: number): boolean {
    for (const step of [-1, 1]) {
      for (let j = index + step; j >= 0 && j < this.windows.length; j += step) {
        if (replayed[j]?.get(key)?.significant !== true) break;
        if (this.windows[j]?.fired.includes(key) === true) return true;
      }
    }
    return false;
  }
}
