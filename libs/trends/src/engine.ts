import { createSerialQueue, type Clock, type Limit, type Logger } from '@moodstream/core';
import { EMOTION_COUNT, WINDOW_MS, type Alert, type AlertExplanation, type Emotion, type ScoredPost, type WindowSize, type WordShift } from '@moodstream/events';
import { alertId } from './alert-id';
import { ALL_TOPICS, type SeriesUpdate } from './api-types';
import { contributionOf, type BucketStats } from './bucket';
import type { TrendsConfig } from './config';
import type { ConfusionMatrix } from './confusion';
import { SpikeDetector, type DetectorSettings, type DetectorState, type PairVerdict, type TopicAlertRule } from './detector';
import { DecidedWindows, MAX_DECIDED_WINDOWS, type DecidedState, type EvaluateWindow } from './late-decisions';
import { toSeriesPoint } from './estimate';
import { planWrites } from './plan';
import type { BucketRef, Retention, TrendsStore } from './store';
import { bucketStart, WINDOW_SIZES } from './windows';
import { planWordShift } from './word-shift';
import { readWordShift } from './word-shift-query';

export interface EngineOptions {
  ns: string;
  /** Null for live aggregates. */
  replayId: string | null;
  store: TrendsStore;
  config: TrendsConfig;
  clock: Clock;
  logger: Logger;
  /** The topics a post is aggregated under. */
  topicsOf: (post: ScoredPost) => readonly string[];
  retention: Retention;
  /** TTL of the persisted engine state. */
  stateTtlMs: number;
  confusion: ConfusionMatrix | null;
  /** A replay uses the live family size for the Bonferroni correction, so it fires what live would have. */
  pairsOverride?: () => number | undefined;
  onSeries: (update: SeriesUpdate) => void;
  /** Called once per newly stored alert. */
  onAlert: (alert: Alert) => void | Promise<void>;
  /** A topic was seen for the first time. */
  onNewTopic?: (topic: string) => void;
  /**
   * Replays load first and evaluate after: they accept any lateness and evaluate alert windows only through
   * `evaluateAlertWindowsThrough`, so the order the bus hands records over (partition by partition) cannot matter.
   */
  bulkLoad?: boolean;
  /**
   * Scale-out (service.ts): false while another aggregator of the consumer group decides alerts — this one then
   * aggregates only, and neither evaluates windows nor writes the engine state. Default: this engine decides.
   */
  decidesAlerts?: () => boolean;
  /** Per-topic alert rules, read before each alert window (a change applies from the next window); none: defaults. */
  alertRules?: () => Promise<ReadonlyMap<string, TopicAlertRule>>;
}

export interface IngestResult {
  accepted: number;
  /** Posts × topics that were new (a post counts once per topic). */
  added: number;
  /** Posts × topics already counted (redelivery). */
  duplicates: number;
  /** Posts dropped because their bucket closed longer ago than the allowed lateness. */
  late: number;
}

interface PersistedState {
  watermark: number | null;
  nextWindow: number | null;
  lateDropped: number;
  detector: DetectorState;
  /** Recently decided alert windows, open to late posts (late-decisions.ts); absent in state written before. */
  decided?: DecidedState;
}

/** How an alert came to be decided after its window's first decision (the Alert's `late` mark). */
interface LateMark {
  reason: 'late-posts' | 'rebuild';
  firstDecidedAt: number | null;
  firstCount: number | null;
}

/** What a rebuild's re-decision did (engine.redecide). */
export interface RedecideResult {
  windows: number;
  /** Alerts the windows fired that were not stored yet. */
  newAlerts: number;
  /** Alerts the windows fired that were stored already (restored from the alerts topic, or decided live). */
  knownAlerts: number;
}

const STATE_KEY = 'engine';
/** A topic without posts for this long stops being watched for alerts. */
const ACTIVE_TOPIC_MS = WINDOW_MS['1d'];
/** Past this many unevaluated windows (a long outage) the engine skips ahead instead of replaying empties. */
const MAX_CATCH_UP_WINDOWS = 1_440;

/**
 * The windowing core shared by live aggregation and replays: lateness, writes, the event-time watermark,
 * alert-window evaluation as the watermark passes each window, and throttled series pushes. Calls are serialised.
 */
export class TrendsEngine {
  private watermarkMs: number | null = null;
  private nextWindow: number | null = null;
  private lateDropped = 0;
  private detector: SpikeDetector;
  private readonly knownTopics = new Set<string>();
  /** Newest post time per topic: topics quiet for a day leave the alert family. */
  private readonly topicLastSeen = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private lastSeriesPush = -Infinity;
  private seriesTimer: ReturnType<Clock['setTimeout']> | null = null;
  /** Ingests, watermark moves and pushes run one at a time, in call order. */
  private readonly queue: Limit = createSerialQueue();
  private alertsFired = 0;
  private readonly alertSize: WindowSize;
  private readonly alertMs: number;
  /** What was decided for the recent alert windows, and which of them late posts changed since (late-decisions.ts). */
  private decided: DecidedWindows;
  private readonly reopened = new Set<number>();
  /** While a rebuild re-decides: when each topic was first seen, so a window watches the topics live did then. */
  private firstSeen: ReadonlyMap<string, number> | null = null;
  private lateMark: LateMark | null = null;

  constructor(private readonly options: EngineOptions) {
    this.alertSize = options.config.TRENDS_ALERT_WINDOW;
    this.alertMs = WINDOW_MS[this.alertSize];
    this.detector = new SpikeDetector(detectorSettings(options.config));
    this.decided = this.freshDecided();
  }

  /**
   * Windows kept open to late posts: as many as the allowed lateness spans, at most MAX_DECIDED_WINDOWS; none for
   * a replay, which loads everything before it decides anything.
   */
  private freshDecided(saved?: DecidedState): DecidedWindows {
    const keep = this.options.bulkLoad ? 0 : Math.min(MAX_DECIDED_WINDOWS, Math.ceil(this.options.config.TRENDS_ALLOWED_LATENESS_MS / this.alertMs) + 1);
    return new DecidedWindows(keep, this.alertMs, saved);
  }

  get watermark(): number | null {
    return this.watermarkMs;
  }

  get alerts(): number {
    return this.alertsFired;
  }

  get lateCount(): number {
    return this.lateDropped;
  }

  /** Topics aggregated in this namespace so far. */
  topics(): string[] {
    return [...this.knownTopics].sort();
  }

  /** Pairs the detector watches (topic × emotion), for a replay's Bonferroni correction. */
  watchedPairs(): number {
    return this.detector.topics().length * EMOTION_COUNT;
  }

  /** Restores the watermark, pending window and detector memory after a restart. */
  load(): Promise<void> {
    return this.queue.run(async () => {
      const raw = await this.options.store.getState(this.options.ns, STATE_KEY);
      for (const { topic, lastSeen } of await this.options.store.topics(this.options.ns)) {
        this.knownTopics.add(topic);
        this.topicLastSeen.set(topic, lastSeen);
      }
      if (raw === null) return;
      this.adopt(JSON.parse(raw) as PersistedState);
    });
  }

  private adopt(state: PersistedState): void {
    this.watermarkMs = state.watermark;
    this.nextWindow = state.nextWindow;
    this.lateDropped = state.lateDropped;
    this.detector = new SpikeDetector(detectorSettings(this.options.config), state.detector);
    this.decided = this.freshDecided(state.decided);
    this.reopened.clear();
  }

  /**
   * After `npm run trends:rebuild` re-decided the alert windows (redecide), the live engine takes over the state it
   * saved (`stateKey`): its detector saw every window's complete posts, where this one may have decided windows on
   * an emptied store. The watermark stays the newer of the two; windows after the rebuild's are decided from there.
   * False when there is no such state.
   */
  adoptSaved(stateKey: string): Promise<boolean> {
    return this.queue.run(async () => {
      const raw = await this.options.store.getState(this.options.ns, stateKey);
      if (raw === null) return false;
      const state = JSON.parse(raw) as PersistedState;
      const watermark = Math.max(this.watermarkMs ?? -Infinity, state.watermark ?? -Infinity);
      const lateDropped = this.lateDropped;
      this.adopt(state);
      this.watermarkMs = Number.isFinite(watermark) ? watermark : null;
      this.lateDropped = lateDropped;
      if (this.decides()) {
        await this.evaluateAlertWindows(this.watermarkMs);
        await this.persist();
      }
      return true;
    });
  }

  /**
   * A rebuild's re-decision (bin/rebuild.ts): with a fresh detector, evaluates every alert window from the one
   * holding `from` through `through` (the newest post), oldest first, as a replay does, over the rebuilt buckets;
   * `firstSeen` is each topic's oldest post, so each window watches the topics the live run knew by then. Alerts
   * keep their deterministic ids (one already stored is not stored again, and is not passed to onAlert); new ones
   * are marked late (reason "rebuild"). The state is persisted under the live key and `copyTo`.
   */
  redecide(from: number, through: number, firstSeen: ReadonlyMap<string, number>, copyTo: string, onProgress?: (done: number, total: number) => void): Promise<RedecideResult> {
    return this.queue.run(async () => {
      this.knownTopics.clear();
      this.topicLastSeen.clear();
      for (const { topic, lastSeen } of await this.options.store.topics(this.options.ns)) {
        this.knownTopics.add(topic);
        this.topicLastSeen.set(topic, lastSeen);
      }
      this.detector = new SpikeDetector(detectorSettings(this.options.config));
      this.decided = this.freshDecided();
      this.reopened.clear();
      this.watermarkMs = through;
      this.nextWindow = bucketStart(from, this.alertSize);
      const settle = this.options.config.TRENDS_ALERT_SETTLE_MS;
      const total = Math.max(0, Math.floor((through - settle - this.nextWindow) / this.alertMs));
      const result: RedecideResult = { windows: 0, newAlerts: 0, knownAlerts: 0 };
      this.firstSeen = firstSeen;
      this.lateMark = { reason: 'rebuild', firstDecidedAt: null, firstCount: null };
      const { evaluate, detectorOf } = await this.replayTools();
      try {
        while (this.nextWindow + this.alertMs + settle <= through) {
          // Kept for late posts are only the windows within the allowed lateness of the newest post.
          await this.rollDecided(through, evaluate, detectorOf);
          const stored = await this.evaluateWindow(this.nextWindow);
          result.newAlerts += stored.stored;
          result.knownAlerts += stored.known;
          this.nextWindow += this.alertMs;
          result.windows += 1;
          onProgress?.(result.windows, total);
        }
      } finally {
        this.firstSeen = null;
        this.lateMark = null;
      }
      await this.persist();
      await this.persist(copyTo);
      return result;
    });
  }

  /**
   * `watermark`: how far event time has surely progressed, when the caller knows better than the batch's
   * newest post — a consumer reading several partitions passes the minimum over partitions of each one's
   * newest timestamp, so a partition that lags behind another is not dropped as late.
   */
  ingest(posts: readonly ScoredPost[], watermark?: number): Promise<IngestResult> {
    return this.queue.run(() => this.ingestNow(posts, watermark));
  }

  /** Moves the watermark (the clock when idle, the end of a replay) and evaluates the alert windows it passes. */
  advanceWatermark(to: number): Promise<void> {
    return this.queue.run(async () => {
      if (this.watermarkMs !== null && to <= this.watermarkMs) return;
      if (this.watermarkMs === null && this.nextWindow === null) return; // nothing seen yet: nothing to close
      this.watermarkMs = to;
      if (!this.decides()) return;
      await this.evaluateAlertWindows(to);
      await this.persist();
    });
  }

  /**
   * Evaluates, in order, every alert window from `firstWindow` on whose end + settle time is at or
   * before `time`, whatever the watermark (replays drive this with their replayed clock).
   */
  evaluateAlertWindowsThrough(time: number, firstWindow: number): Promise<void> {
    return this.queue.run(async () => {
      if (this.nextWindow === null) this.nextWindow = bucketStart(firstWindow, this.alertSize);
      await this.evaluateAlertWindows(time);
      await this.persist();
    });
  }

  /** Pushes pending series updates now. */
  flushSeries(): Promise<void> {
    return this.queue.run(() => this.pushSeries());
  }

  /** Cancels the pending push timer (the engine can still be used). */
  dispose(): void {
    if (this.seriesTimer !== null) this.options.clock.clearTimeout(this.seriesTimer);
    this.seriesTimer = null;
  }

  private async ingestNow(posts: readonly ScoredPost[], watermark: number | undefined): Promise<IngestResult> {
    const { config } = this.options;
    const lateness = this.options.bulkLoad ? Infinity : config.TRENDS_ALLOWED_LATENESS_MS;
    const accepted: ScoredPost[] = [];
    let late = 0;
    let maxTimestamp = -Infinity;
    let minTimestamp = Infinity;
    for (const post of posts) {
      if (post.timestamp > maxTimestamp) maxTimestamp = post.timestamp;
      if (this.watermarkMs !== null && bucketStart(post.timestamp, '1m') + WINDOW_MS['1m'] + lateness <= this.watermarkMs) {
        late += 1;
        continue;
      }
      if (post.timestamp < minTimestamp) minTimestamp = post.timestamp;
      accepted.push(post);
    }
    this.lateDropped += late;
    let added = 0;
    let duplicates = 0;
    if (accepted.length > 0) {
      // Each post's micro-unit probabilities once, for the buckets and the word-shift tables alike.
      const contributions = accepted.map(contributionOf);
      const plan = planWrites(accepted, { topicsOf: this.options.topicsOf, candidatesPerBucket: Math.min(3, this.options.retention.examplesPerBucket) }, contributions);
      // Word-shift tables beside the buckets (own seen-set: idempotent on its own), unless TRENDS_WORD_SHIFT=off.
      const wordShift = config.TRENDS_WORD_SHIFT ? this.options.store.wordShift : undefined;
      const [result] = await Promise.all([
        this.options.store.apply(this.options.ns, plan, this.options.retention),
        wordShift?.apply(this.options.ns, planWordShift(accepted, this.options.topicsOf, contributions), { retention: this.options.retention, maxTerms: config.TRENDS_WORD_SHIFT_TERMS }),
      ]);
      plan.groups.forEach((group, index) => {
        const groupAdded = result.added[index] ?? 0;
        added += groupAdded;
        duplicates += group.posts.length - groupAdded;
        if (group.lastSeen > (this.topicLastSeen.get(group.topic) ?? -Infinity)) this.topicLastSeen.set(group.topic, group.lastSeen);
        if (!this.knownTopics.has(group.topic)) {
          this.knownTopics.add(group.topic);
          this.options.onNewTopic?.(group.topic);
        }
        if (groupAdded > 0 && !this.options.bulkLoad) {
          this.dirty.add(`${group.start}\u0000${group.topic}`);
          // A late post in a window already decided: decide it again at the next evaluation (late-decisions.ts).
          const window = bucketStart(group.start, this.alertSize);
          if (this.nextWindow !== null && window < this.nextWindow && this.decided.has(window)) this.reopened.add(window);
        }
      });
      if (this.nextWindow === null && !this.options.bulkLoad) this.nextWindow = bucketStart(minTimestamp, this.alertSize);
    }
    const candidate = watermark ?? maxTimestamp;
    if (candidate > (this.watermarkMs ?? -Infinity)) this.watermarkMs = candidate;
    if (!this.options.bulkLoad) {
      if (this.decides()) {
        await this.evaluateAlertWindows(this.watermarkMs);
        if (posts.length > 0) await this.persist();
      }
      await this.maybePushSeries();
    }
    return { accepted: accepted.length, added, duplicates, late };
  }

  private decides(): boolean {
    return this.options.decidesAlerts?.() ?? true;
  }

  private async persist(key = STATE_KEY): Promise<void> {
    const state: PersistedState = {
      watermark: this.watermarkMs,
      nextWindow: this.nextWindow,
      lateDropped: this.lateDropped,
      detector: this.detector.snapshot(),
      decided: this.decided.snapshot(),
    };
    await this.options.store.setState(this.options.ns, key, JSON.stringify(state), this.options.stateTtlMs);
  }

  /** Topics watched for a window: seen within the day before it (and "all" only when configured). */
  private alertTopics(windowStart: number): string[] {
    const onAll = this.options.config.TRENDS_ALERT_ON_ALL;
    const since = windowStart - ACTIVE_TOPIC_MS;
    // A rebuild knows every topic's newest post only: a topic first seen after this window was not watched yet.
    const seenBy = windowStart + this.alertMs + this.options.config.TRENDS_ALERT_SETTLE_MS;
    const seenYet = (topic: string): boolean => this.firstSeen === null || (this.firstSeen.get(topic) ?? Infinity) < seenBy;
    return [...this.knownTopics].filter((topic) => (onAll || topic !== ALL_TOPICS) && (this.topicLastSeen.get(topic) ?? -Infinity) >= since && seenYet(topic)).sort();
  }

  /** Evaluates every alert window whose end + settle time is at or before `limit`, oldest first. */
  private async evaluateAlertWindows(limit: number | null): Promise<void> {
    if (limit === null || this.nextWindow === null) return;
    const settle = this.options.config.TRENDS_ALERT_SETTLE_MS;
    const closable = Math.floor((limit - settle - this.nextWindow) / this.alertMs);
    if (!this.options.bulkLoad && closable > MAX_CATCH_UP_WINDOWS) {
      this.options.logger.warn({ ns: this.options.ns, skipped: closable - MAX_CATCH_UP_WINDOWS }, 'skipping unevaluated alert windows after a long gap');
      this.nextWindow += (closable - MAX_CATCH_UP_WINDOWS) * this.alertMs;
    }
    let decided = false;
    while (this.nextWindow + this.alertMs + settle <= limit) {
      await this.evaluateWindow(this.nextWindow);
      this.nextWindow += this.alertMs;
      decided = true;
    }
    if (!this.options.bulkLoad && (decided || this.reopened.size > 0)) await this.reviseDecidedWindows(limit, decided);
  }

  /**
   * Decides the kept windows again when late posts changed their counts (late-decisions.ts): when this engine's own
   * late writes re-opened one, and each time a new window is decided — then every kept window is re-read, which also
   * catches late posts another aggregator of the group wrote (scale-out: only the owner decides). First the windows
   * no post can change any more leave the kept set.
   */
  private async reviseDecidedWindows(watermark: number, all: boolean): Promise<void> {
    const { evaluate, detectorOf } = await this.replayTools();
    if (all || this.reopened.size > 0) await this.replayDecided(evaluate, detectorOf);
    // After the replay: a late post into the oldest window is decided with the others before that window leaves.
    await this.rollDecided(watermark, evaluate, detectorOf);
  }

  private async replayDecided(evaluate: EvaluateWindow, detectorOf: (state: DetectorState) => SpikeDetector): Promise<void> {
    this.reopened.clear();
    const kept = this.decided.tested();
    if (kept.length === 0) return;
    const stats = await this.options.store.readBuckets(this.options.ns, kept.map(({ start, topic }) => ({ topic, size: this.alertSize, start })));
    const fresh = new Map<number, Map<string, BucketStats | null>>();
    kept.forEach(({ start, topic }, i) => {
      const byTopic = fresh.get(start) ?? new Map<string, BucketStats | null>();
      byTopic.set(topic, stats[i] ?? null);
      fresh.set(start, byTopic);
    });
    const replay = this.decided.replay(fresh, evaluate, detectorOf);
    if (replay === null) return;
    this.detector = replay.detector;
    this.options.logger.info({ ns: this.options.ns, windows: this.decided.size, fires: replay.late.length }, 'late posts changed decided alert windows: decided them again');
    for (const late of replay.late) {
      await this.fireAlert(late.verdict, late.start, { reason: 'late-posts', firstDecidedAt: late.firstDecidedAt, firstCount: late.firstCount });
    }
  }

  /** How the kept windows are decided again: as evaluateWindow does, with today's alert rules. */
  private async replayTools(): Promise<{ evaluate: EvaluateWindow; detectorOf: (state: DetectorState) => SpikeDetector }> {
    const rules = await this.options.alertRules?.();
    return {
      evaluate: (detector, start, buckets) => {
        for (const watched of detector.topics()) if (!buckets.has(watched)) detector.forget(watched);
        return detector.evaluate(start, this.alertMs, new Map(buckets), this.options.pairsOverride?.(), rules);
      },
      detectorOf: (state) => new SpikeDetector(detectorSettings(this.options.config), state),
    };
  }

  /** Lets go of the kept windows no post can change any more (end + allowed lateness passed), or past the cap. */
  private async rollDecided(watermark: number, evaluate: EvaluateWindow, detectorOf: (state: DetectorState) => SpikeDetector): Promise<void> {
    const lateness = this.options.config.TRENDS_ALLOWED_LATENESS_MS;
    for (let oldest = this.decided.expiring(watermark, lateness); oldest !== null; oldest = this.decided.expiring(watermark, lateness)) {
      const { start, topics } = oldest;
      const stats = await this.options.store.readBuckets(this.options.ns, topics.map((topic) => ({ topic, size: this.alertSize, start })));
      this.decided.roll(new Map(topics.map((topic, i) => [topic, stats[i] ?? null])), evaluate, detectorOf);
    }
  }

  /** Decides one window; counts the alerts it fired that were stored now, and those stored already. */
  private async evaluateWindow(start: number): Promise<{ stored: number; known: number }> {
    const topics = this.alertTopics(start);
    for (const watched of this.detector.topics()) if (!topics.includes(watched)) this.detector.forget(watched);
    const refs: BucketRef[] = topics.map((topic) => ({ topic, size: this.alertSize, start }));
    const stats = await this.options.store.readBuckets(this.options.ns, refs);
    const windows = new Map<string, BucketStats | null>();
    topics.forEach((topic, i) => windows.set(topic, stats[i] ?? null));
    const rules = await this.options.alertRules?.();
    this.decided.beforeDecide(this.detector);
    const verdicts = this.detector.evaluate(start, this.alertMs, windows, this.options.pairsOverride?.(), rules);
    this.decided.record(start, this.options.clock.now(), windows, verdicts);
    const counts = { stored: 0, known: 0 };
    for (const verdict of verdicts) {
      if (!verdict.fires) continue;
      if (await this.fireAlert(verdict, start, this.lateMark)) counts.stored += 1;
      else counts.known += 1;
    }
    return counts;
  }

  /** Stores the alert of a verdict that fires (false when its id was stored already) and hands it on. */
  private async fireAlert(verdict: PairVerdict, start: number, late: LateMark | null): Promise<boolean> {
    const examples = await this.options.store.examples(this.options.ns, { topic: verdict.topic, size: this.alertSize, start }, verdict.emotionIndex, 10);
    const end = start + this.alertMs;
    const explanation = alertExplanation(verdict);
    const alert: Alert = {
      id: alertId({ replayId: this.options.replayId, topic: verdict.topic, emotion: verdict.emotion, size: this.alertSize, start }),
      topic: verdict.topic,
      emotion: verdict.emotion,
      window: { size: this.alertSize, start, end },
      observed: clamp01(verdict.observed),
      expected: clamp01(verdict.expected),
      count: verdict.count,
      statistic: Math.max(-1e9, Math.min(1e9, verdict.statistic)),
      pValue: clamp01(verdict.pValue),
      threshold: clamp01(verdict.threshold),
      examplePostIds: examples.map((p) => p.postId),
      // A replay reports the historical moment the alert would have fired, whatever the replay speed.
      firedAt: this.options.replayId === null ? this.options.clock.now() : end + this.options.config.TRENDS_ALERT_SETTLE_MS,
      replayId: this.options.replayId,
      acknowledged: false,
      ...(late === null ? {} : { late: true }),
      explanation: late === null ? explanation : { ...explanation, decidedLate: late },
      ...(await this.alertWordShift(verdict.topic, verdict.emotion, start)),
    };
    const stored = await this.options.store.saveAlert(alert, this.alertTtlMs());
    if (!stored) return false;
    this.alertsFired += 1;
    this.options.logger.info(
      { alert: alert.id, topic: alert.topic, emotion: alert.emotion, windowStart: new Date(start).toISOString(), observed: alert.observed, expected: alert.expected, z: alert.statistic, ...(late === null ? {} : { late: late.reason }) },
      late === null ? 'spike alert' : 'spike alert, decided late',
    );
    await this.options.onAlert(alert);
    return true;
  }

  /** The alert window's word shift against the windows before it; none when the bookkeeping is off. */
  private async alertWordShift(topic: string, emotion: Emotion, start: number): Promise<{ wordShift?: WordShift }> {
    const { config } = this.options;
    const store = config.TRENDS_WORD_SHIFT ? this.options.store.wordShift : undefined;
    if (store === undefined) return {};
    const request = { topic, size: this.alertSize, start, emotion, baselineWindows: config.TRENDS_WORD_SHIFT_BASELINE_WINDOWS, limit: config.TRENDS_WORD_SHIFT_ALERT_TERMS };
    return { wordShift: await readWordShift(store, this.options.ns, request) };
  }

  private alertTtlMs(): number {
    return this.options.replayId === null ? this.options.config.TRENDS_RETENTION_5M_MS : this.options.config.TRENDS_REPLAY_RETENTION_MS;
  }

  private async maybePushSeries(): Promise<void> {
    if (this.dirty.size === 0) return;
    const interval = this.options.config.TRENDS_SERIES_PUSH_MS;
    const now = this.options.clock.now();
    if (now - this.lastSeriesPush >= interval) {
      await this.pushSeries();
      return;
    }
    if (this.seriesTimer === null) {
      this.seriesTimer = this.options.clock.setTimeout(() => {
        this.seriesTimer = null;
        this.flushSeries().catch((error: unknown) => this.options.logger.warn({ err: error }, 'series push failed'));
      }, interval - (now - this.lastSeriesPush));
    }
  }

  private async pushSeries(): Promise<void> {
    this.lastSeriesPush = this.options.clock.now();
    if (this.dirty.size === 0) return;
    const refs = new Map<string, BucketRef>();
    for (const entry of this.dirty) {
      const [startText, topic] = entry.split('\u0000') as [string, string];
      const start = Number(startText);
      for (const size of WINDOW_SIZES) {
        const ref = { topic, size, start: bucketStart(start, size) };
        refs.set(`${size}\u0000${topic}\u0000${ref.start}`, ref);
      }
    }
    this.dirty.clear();
    const list = [...refs.values()].sort((a, b) => a.start - b.start);
    const stats = await this.options.store.readBuckets(this.options.ns, list);
    list.forEach((ref, i) => {
      const bucket = stats[i];
      if (bucket === null || bucket === undefined) return;
      this.options.onSeries({ topic: ref.topic, window: ref.size, replay: this.options.replayId, point: toSeriesPoint(ref.start, bucket, this.options.confusion) });
    });
  }
}

const clamp01 = (x: number): number => (Number.isNaN(x) ? 0 : x < 0 ? 0 : x > 1 ? 1 : x);
/** JSON has no NaN or Infinity: keep every number finite (and non-negative where the schema says so). */
const finite = (x: number): number => (Number.isFinite(x) ? x : 0);
const nonNegative = (x: number): number => Math.max(0, finite(x));

/** The verdict's numbers as the Alert event carries them (why it fired, how sure). */
function alertExplanation(verdict: PairVerdict): AlertExplanation {
  const e = verdict.explanation;
  return {
    effect: { difference: finite(e.effect), lo: finite(e.effectLo), hi: finite(e.effectHi), ratio: verdict.expected > 0 ? nonNegative(verdict.observed / verdict.expected) : null },
    baseline: {
      share: clamp01(e.baseline),
      windows: Math.max(0, Math.floor(e.baselineWindows)),
      method: e.seasonalIndex === null ? 'ewma' : 'hour-of-day',
      hourOfDay: e.hourOfDay,
      seasonalIndex: e.seasonalIndex === null ? null : finite(e.seasonalIndex),
    },
    dispersion: { samplingSd: nonNegative(e.samplingSd), baselineSd: nonNegative(e.baselineSd), betweenSd: nonNegative(e.betweenSd), totalSd: nonNegative(e.totalSd) },
  };
}

/** The detector's settings from the trends config (the alert bench builds its detector the same way). */
export function detectorSettings(config: TrendsConfig): DetectorSettings {
  return {
    level: config.TRENDS_ALERT_LEVEL,
    forWindows: config.TRENDS_ALERT_FOR_WINDOWS,
    minCount: config.TRENDS_ALERT_MIN_COUNT,
    alpha: config.TRENDS_ALERT_EWMA_ALPHA,
    warmupWindows: config.TRENDS_ALERT_WARMUP_WINDOWS,
    cooldownWindows: config.TRENDS_ALERT_COOLDOWN_WINDOWS,
  };
}

/** Retention of live aggregates from the config. */
export function liveRetention(config: TrendsConfig): Retention {
  return {
    bucketTtlMs: { '1m': config.TRENDS_RETENTION_1M_MS, '5m': config.TRENDS_RETENTION_5M_MS, '1h': config.TRENDS_RETENTION_1H_MS, '1d': config.TRENDS_RETENTION_1D_MS },
    seenTtlMs: seenTtl(config),
    examplesPerBucket: config.TRENDS_EXAMPLES_PER_BUCKET,
  };
}

/** A replay namespace keeps everything for the replay retention. */
export function replayRetention(config: TrendsConfig): Retention {
  const ttl = config.TRENDS_REPLAY_RETENTION_MS;
  return { bucketTtlMs: { '1m': ttl, '5m': ttl, '1h': ttl, '1d': ttl }, seenTtlMs: Math.min(ttl, seenTtl(config)), examplesPerBucket: config.TRENDS_EXAMPLES_PER_BUCKET };
}

/**
 * Post ids must be remembered as long as a redelivered record could still be accepted: the allowed
 * lateness, plus the idle-watermark lag, plus the bucket itself, plus a margin for a slow restart.
 */
function seenTtl(config: TrendsConfig): number {
  return config.TRENDS_ALLOWED_LATENESS_MS + config.TRENDS_IDLE_WATERMARK_LAG_MS + WINDOW_MS['1m'] + 30 * 60_000;
}
