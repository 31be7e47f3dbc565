import { randomBytes } from 'node:crypto';
import type { Bus } from '@moodstream/bus';
import { errorMessage, MoodstreamError, sleep, type Clock, type Logger } from '@moodstream/core';
import { WINDOW_MS, type Alert, type EventOf, type Post, type ScoredPost } from '@moodstream/events';
import { ALL_TOPICS, type ReplayRequest, type ReplayStatus, type SeriesUpdate } from './api-types';
import type { TrendsConfig } from './config';
import type { ConfusionMatrix } from './confusion';
import { replayRetention, TrendsEngine } from './engine';
import { toSeriesPoint } from './estimate';
import { liveTopicsOf } from './plan';
import { replayNamespace, type BucketRef, type TrendsStore } from './store';
import { bucketStart, WINDOW_SIZES } from './windows';

export interface ReplayManagerOptions {
  bus: Bus;
  store: TrendsStore;
  config: TrendsConfig;
  clock: Clock;
  logger: Logger;
  topics: { scored: string; posts: string };
  confusion: ConfusionMatrix | null;
  rescore?: (posts: Post[]) => Promise<ScoredPost[]>;
  /** The live detector's family size at replay start, so the replay applies the same correction. */
  livePairs: () => number;
  onSeries: (update: SeriesUpdate) => void;
  onAlert: (alert: Alert) => void;
  onStatus: (status: ReplayStatus) => void;
}

interface RunningReplay {
  status: ReplayStatus;
  stopRequested: boolean;
  /** Fires on stop: a paced replay's wait ends at once. */
  stopping: AbortController;
  resume: (() => void) | null;
  done: Promise<ReplayStatus>;
}

/** Status pushes during a replay are throttled to this interval (plus every state change). */
const STATUS_EVERY_MS = 250;
/** A paced replay sleeps at most this long at a time, so a pause takes effect quickly (a stop ends the sleep at once). */
const MAX_SLEEP_MS = 200;

/** Why a replay cannot start (each code answers with its own HTTP status, see ERROR_CODES). */
export type ReplayErrorCode = 'TRENDS_REPLAY_INVALID' | 'TRENDS_REPLAY_RANGE' | 'TRENDS_REPLAY_EXISTS' | 'TRENDS_RESCORE_UNAVAILABLE' | 'NOT_FOUND';

export class ReplayError extends MoodstreamError {
  constructor(code: ReplayErrorCode, message: string) {
    super(code, message);
  }
}

/**
 * Replays past ScoredPosts (or past Posts re-scored with the current model) read from the bus by timestamp
 * into an isolated namespace, at N× real time or flat out, through the same engine as live aggregation —
 * so the same windows close in the same order and the same alerts fire, tagged with the replay id.
 */
export class ReplayManager {
  private readonly replays = new Map<string, RunningReplay>();

  constructor(private readonly options: ReplayManagerOptions) {}

  start(request: ReplayRequest, id = `rp_${randomBytes(6).toString('hex')}`): ReplayStatus {
    if (request.rescore && this.options.rescore === undefined) {
      throw new ReplayError('TRENDS_RESCORE_UNAVAILABLE', 're-scoring is not available here: no model is loaded (start the replay without rescore)');
    }
    if (this.replays.has(id)) throw new ReplayError('TRENDS_REPLAY_EXISTS', `replay ${id} already exists`);
    // The API's schema checks this too; a caller in code (the CLI, tests) gets the same answer.
    if (!(request.to > request.from)) throw new ReplayError('TRENDS_REPLAY_INVALID', '`to` must be after `from`');
    if (request.to - request.from > MAX_REPLAY_RANGE_MS) {
      throw new ReplayError('TRENDS_REPLAY_RANGE', `a replay may cover at most ${MAX_REPLAY_RANGE_MS / WINDOW_MS['1d']} days`);
    }
    const status: ReplayStatus = {
      id,
      topic: request.topic,
      from: request.from,
      to: request.to,
      speed: request.speed,
      rescore: request.rescore,
      state: 'running',
      progress: 0,
      cursor: request.from,
      processed: 0,
      alerts: 0,
      startedAt: this.options.clock.now(),
      finishedAt: null,
      error: null,
    };
    const replay: RunningReplay = { status, stopRequested: false, stopping: new AbortController(), resume: null, done: Promise.resolve(status) };
    this.replays.set(id, replay);
    replay.done = this.run(replay).then(() => ({ ...replay.status }));
    this.publish(replay);
    return { ...status };
  }

  status(id: string): ReplayStatus | null {
    const replay = this.replays.get(id);
    return replay === undefined ? null : { ...replay.status };
  }

  list(): ReplayStatus[] {
    return [...this.replays.values()].map((r) => ({ ...r.status })).sort((a, b) => b.startedAt - a.startedAt);
  }

  pause(id: string): ReplayStatus | null {
    const replay = this.replays.get(id);
    if (replay === undefined) return null;
    if (replay.status.state === 'running') {
      replay.status.state = 'paused';
      this.publish(replay);
    }
    return { ...replay.status };
  }

  resume(id: string): ReplayStatus | null {
    const replay = this.replays.get(id);
    if (replay === undefined) return null;
    if (replay.status.state === 'paused') {
      replay.status.state = 'running';
      replay.resume?.();
      this.publish(replay);
    }
    return { ...replay.status };
  }

  stop(id: string): ReplayStatus | null {
    const replay = this.replays.get(id);
    if (replay === undefined) return null;
    if (replay.status.state === 'running' || replay.status.state === 'paused') {
      replay.stopRequested = true;
      replay.stopping.abort();
      replay.resume?.();
    }
    return { ...replay.status };
  }

  /** Resolves with the final status once the replay has finished, failed or stopped. */
  wait(id: string): Promise<ReplayStatus> {
    const replay = this.replays.get(id);
    if (replay === undefined) return Promise.reject(new ReplayError('NOT_FOUND', `no replay ${id}`));
    return replay.done;
  }

  async stopAll(): Promise<void> {
    for (const id of this.replays.keys()) this.stop(id);
    await Promise.all([...this.replays.values()].map((r) => r.done));
  }

  private lastPublished = new Map<string, number>();

  private publish(replay: RunningReplay, throttle = false): void {
    const now = this.options.clock.now();
    if (throttle && now - (this.lastPublished.get(replay.status.id) ?? -Infinity) < STATUS_EVERY_MS) return;
    this.lastPublished.set(replay.status.id, now);
    this.options.onStatus({ ...replay.status });
  }

  /**
   * Two phases, so neither the order the bus hands records over (Kafka interleaves partitions loosely,
   * the memory bus reads them one after another) nor the batch sizes can change the outcome:
   * 1. load: every record of the range is aggregated into the replay namespace (deduplicated, no lateness);
   * 2. play: the replayed clock walks [from, to) at N× real time (or at once), closing windows in order —
   *    which evaluates alerts exactly as live would have — and pushing each bucket as its end passes.
   * Series queries of a running replay are clamped to its cursor, so the chart never shows the future.
   */
  private async run(replay: RunningReplay): Promise<void> {
    const { status } = replay;
    const { config, clock } = this.options;
    const ns = replayNamespace(status.id);
    const confusion = this.options.confusion;
    const livePairs = this.options.livePairs();
    const engine = new TrendsEngine({
      ns,
      replayId: status.id,
      store: this.options.store,
      config,
      clock,
      logger: this.options.logger.child({ replay: status.id }),
      topicsOf: status.topic === ALL_TOPICS ? liveTopicsOf : () => [status.topic],
      retention: replayRetention(config),
      stateTtlMs: config.TRENDS_REPLAY_RETENTION_MS,
      confusion,
      pairsOverride: () => livePairs,
      onSeries: this.options.onSeries,
      onAlert: (alert) => {
        status.alerts += 1;
        this.options.onAlert(alert);
      },
      bulkLoad: true,
    });
    const span = status.to - status.from;
    const speed = status.speed === 'max' ? Infinity : status.speed;
    const setCursor = (cursor: number): void => {
      status.cursor = Math.max(status.cursor, Math.min(status.to, cursor));
      status.progress = span > 0 ? Math.min(1, (status.cursor - status.from) / span) : 1;
    };
    const waitWhilePaused = async (): Promise<void> => {
      if (status.state !== 'paused' || replay.stopRequested) return;
      await new Promise<void>((resolve) => {
        replay.resume = resolve;
      });
      replay.resume = null;
    };
    const matches = (topics: readonly string[]): boolean => status.topic === ALL_TOPICS || topics.includes(status.topic);

    try {
      // Phase 1: load.
      const invalid = (reason: string): void => this.options.logger.warn({ replay: status.id, reason }, 'replay skipped an invalid record');
      const rescore = this.options.rescore;
      const batches: AsyncIterable<ScoredPost[]> =
        status.rescore && rescore !== undefined
          ? this.read('Post', status, matches, invalid, rescore)
          : this.read('ScoredPost', status, matches, invalid, async (posts) => posts);
      // Read one batch ahead: decoding the next batch overlaps writing this one.
      const iterator = batches[Symbol.asyncIterator]();
      let ahead = iterator.next();
      let exhausted = false;
      try {
        for (;;) {
          const { value: batch, done } = await ahead;
          if (done === true) {
            exhausted = true;
            break;
          }
          await waitWhilePaused();
          if (replay.stopRequested) break;
          ahead = iterator.next();
          // Surfaces at the next await; never an unhandled rejection in between.
          ahead.catch(() => undefined);
          const result = await engine.ingest(batch);
          status.processed += result.accepted;
          // Flat out, loading is the replay: show how far history has been read (nothing is paced anyway).
          if (speed === Infinity) setCursor(Math.min(status.to - 1, batch.reduce((max, post) => Math.max(max, post.timestamp), status.cursor)));
          this.publish(replay, true);
        }
      } finally {
        // Stopped or failed half-way: let the read-ahead settle, then close the read (and its Kafka consumer).
        if (!exhausted) {
          await ahead.catch(() => undefined);
          await iterator.return?.();
        }
      }

      // Phase 2: play.
      let shownUntil = status.from;
      let anchorWall = clock.now();
      let anchorHistory = status.from;
      while (!replay.stopRequested && shownUntil < status.to) {
        if (status.state === 'paused') {
          await waitWhilePaused();
          anchorWall = clock.now();
          anchorHistory = shownUntil;
          continue;
        }
        const now = Math.min(status.to, speed === Infinity ? status.to : anchorHistory + (clock.now() - anchorWall) * speed);
        const reached = now >= status.to ? status.to : bucketStart(now, '1m');
        if (reached > shownUntil) {
          // Close the windows that end by then (the settle time is already over in history), then show the buckets.
          await engine.evaluateAlertWindowsThrough(reached + config.TRENDS_ALERT_SETTLE_MS, status.from);
          await this.pushBuckets(ns, engine.topics(), shownUntil, reached, status.id, confusion);
          shownUntil = reached;
          setCursor(reached);
          this.publish(replay, true);
        }
        if (shownUntil < status.to) {
          await sleep(Math.max(1, Math.min(MAX_SLEEP_MS, Math.ceil((bucketStart(now, '1m') + WINDOW_MS['1m'] - now) / speed))), { clock, signal: replay.stopping.signal });
        }
      }
      status.state = replay.stopRequested ? 'stopped' : 'done';
    } catch (error) {
      status.state = 'failed';
      status.error = errorMessage(error);
      this.options.logger.error({ replay: status.id, err: error }, 'replay failed');
    } finally {
      engine.dispose();
      status.finishedAt = clock.now();
      this.publish(replay);
      this.options.logger.info({ replay: status.id, state: status.state, processed: status.processed, alerts: status.alerts }, 'replay finished');
    }
  }

  private rangeEnd(id: string): number {
    return this.replays.get(id)?.status.to ?? Infinity;
  }

  /** Pushes every bucket (any size) that ends in (after, until]. */
  private async pushBuckets(ns: string, topics: string[], after: number, until: number, replayId: string, confusion: ConfusionMatrix | null): Promise<void> {
    const refs: BucketRef[] = [];
    for (const size of WINDOW_SIZES) {
      const ms = WINDOW_MS[size];
      // At the end of the range, the last (partial) buckets are shown too.
      const final = until >= this.rangeEnd(replayId);
      for (let start = bucketStart(after, size); final ? start < until : start + ms <= until; start += ms) {
        for (const topic of topics) refs.push({ topic, size, start });
      }
    }
    for (let i = 0; i < refs.length; i += 2_000) {
      const chunk = refs.slice(i, i + 2_000);
      const stats = await this.options.store.readBuckets(ns, chunk);
      chunk.forEach((ref, j) => {
        const bucket = stats[j];
        if (bucket === null || bucket === undefined) return;
        this.options.onSeries({ topic: ref.topic, window: ref.size, replay: replayId, point: toSeriesPoint(ref.start, bucket, confusion) });
      });
    }
  }

  /** The range's records of one event type whose topics match, as ScoredPosts (re-scored Posts or stored ScoredPosts). */
  private async *read<N extends 'Post' | 'ScoredPost'>(
    eventType: N,
    range: { from: number; to: number },
    matches: (topics: readonly string[]) => boolean,
    onInvalid: (reason: string) => void,
    toScored: (values: EventOf<N>[]) => Promise<ScoredPost[]>,
  ): AsyncIterable<ScoredPost[]> {
    const records = this.options.bus.readByTime({
      topic: eventType === 'Post' ? this.options.topics.posts : this.options.topics.scored,
      eventType,
      from: range.from,
      to: range.to,
      batchSize: this.options.config.TRENDS_BATCH_SIZE,
      onInvalid,
    });
    for await (const batch of records) {
      const values = batch.map((r) => r.value).filter((v) => matches(v.topics));
      if (values.length > 0) yield await toScored(values);
    }
  }
}

/** Longest time range a replay may cover (keeps a mistaken request from reading a whole topic). */
export const MAX_REPLAY_RANGE_MS = 31 * WINDOW_MS['1d'];
