import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Bus } from '@moodstream/bus';
import { errorMessage, MoodstreamError, sleep, type Clock, type Logger, type Timer } from '@moodstream/core';
import { WINDOW_MS, type Alert, type EventOf, type Post, type ScoredPost } from '@moodstream/events';
import { ALL_TOPICS, type ReplayRequest, type ReplayStatus, type SeriesUpdate } from './api-types';
import type { TrendsConfig } from './config';
import type { ConfusionMatrix } from './confusion';
import { replayRetention, TrendsEngine } from './engine';
import { toSeriesPoint } from './estimate';
import { liveTopicsOf } from './plan';
import { createMemoryReplayRegistry, type ReplayRegistry } from './replay-registry';
import { LEASE_LOST, publicStatus, settle, type ReplayControl, type ReplayLimits, type ReplayRecord } from './replay-state';
import { fixedRescorer, type ReplayRescorer } from './rescore-text';
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
  /** One fixed model for re-scoring replays (the replay CLI); `rescorer` offers the model registry's versions. */
  rescore?: (posts: Post[]) => Promise<ScoredPost[]>;
  rescorer?: ReplayRescorer;
  /** Where every instance's replays are kept (default: memory, this process only). */
  registry?: ReplayRegistry;
  /** This instance's name in the registry (`startedBy`); default: host, pid and a random suffix. */
  instanceId?: string;
  /** How long a replay stays this instance's without a heartbeat (default LEASE_MS). */
  leaseMs?: number;
  /** The live detector's family size at replay start, so the replay applies the same correction. */
  livePairs: () => number;
  onSeries: (update: SeriesUpdate) => void;
  onAlert: (alert: Alert) => void;
  onStatus: (status: ReplayStatus) => void;
}

/** How a replay may start: its id (default: a random one) and the concurrency limits (default: none). */
export interface StartReplayOptions {
  id?: string;
  limits?: Partial<ReplayLimits>;
}

/** A replay this instance runs. */
interface RunningReplay {
  status: ReplayRecord;
  stopRequested: boolean;
  /** The registry marked it failed (our lease ran out): it ends without writing over that. */
  lost: boolean;
  /** Fires on stop: a paced replay's wait ends at once. */
  stopping: AbortController;
  resume: (() => void) | null;
  done: Promise<ReplayStatus>;
  heartbeat: Timer | null;
  /** The heartbeat in flight, awaited before the last write. */
  beating: Promise<void>;
}

/**
 * Posts per store write while a replay loads its range. The load is order- and batch-independent (see run), so it
 * takes far bigger batches than live consuming: a day of history read partition by partition puts a fetch's ~2,000
 * posts into ~50 (topic, minute) groups of a few dozen posts, and every group costs its own seen-set checks, example
 * candidates and word-shift entries, whatever its size. Gathered to 20,000, a 208,333-post / 5 h replay took
 * 18.6–20.0 s instead of 27.7–30.7 s and Redis 2.2–3.3 CPU-s instead of 7.0–8.1 (docs/benchmarks.md); 40,000 was no
 * better and holds more memory. The store still cuts each write into script calls of ≤ 2,000 posts.
 */
export const LOAD_BATCH_POSTS = 20_000;
/** Status pushes during a replay are throttled to this interval (plus every state change). */
const STATUS_EVERY_MS = 250;
/** A paced replay sleeps at most this long at a time, so a pause takes effect quickly (a stop ends the sleep at once). */
const MAX_SLEEP_MS = 200;
/**
 * The runner renews its lease and reads control requests from other instances this often; a pause or stop sent to
 * another instance takes effect within about this long.
 */
export const HEARTBEAT_MS = 250;
/**
 * A runner silent this long (crashed, lost Redis) no longer holds its replay: readers show it failed. Far above the
 * heartbeat, because a busy process (a replay loading its range on a loaded machine) can miss beats for seconds.
 */
export const LEASE_MS = 30_000;

/** Why a replay cannot start (each code answers with its own HTTP status, see ERROR_CODES). */
export type ReplayErrorCode = 'TRENDS_REPLAY_INVALID' | 'TRENDS_REPLAY_RANGE' | 'TRENDS_REPLAY_EXISTS' | 'TRENDS_RESCORE_UNAVAILABLE' | 'NOT_FOUND';

export class ReplayError extends MoodstreamError {
  constructor(code: ReplayErrorCode, message: string) {
    super(code, message);
  }
}

const isLive = (state: ReplayStatus['state']): boolean => state === 'running' || state === 'paused';

/**
 * Replays past ScoredPosts (or past Posts re-scored with a chosen model version) read from the bus by timestamp
 * into an isolated namespace, at N× real time or flat out, through the same engine as live aggregation —
 * so the same windows close in the same order and the same alerts fire, tagged with the replay id.
 *
 * Every replay is in the registry shared by the instances (replay-registry.ts). It runs on the instance that started
 * it; any instance reads, pauses, resumes or stops it there, and the runner's heartbeat picks the request up.
 */
export class ReplayManager {
  /** The replays this instance runs. */
  private readonly replays = new Map<string, RunningReplay>();
  private readonly registry: ReplayRegistry;
  private readonly rescorer: ReplayRescorer | undefined;
  readonly instanceId: string;
  private readonly leaseMs: number;

  constructor(private readonly options: ReplayManagerOptions) {
    this.registry = options.registry ?? createMemoryReplayRegistry(options.clock);
    this.rescorer = options.rescorer ?? (options.rescore === undefined ? undefined : fixedRescorer(options.rescore));
    this.instanceId = options.instanceId ?? `${hostname()}/${process.pid}/${randomBytes(3).toString('hex')}`;
    this.leaseMs = options.leaseMs ?? LEASE_MS;
  }

  async start(request: ReplayRequest, options: StartReplayOptions = {}): Promise<ReplayStatus> {
    const id = options.id ?? `rp_${randomBytes(6).toString('hex')}`;
    const rescorer = this.rescorer;
    if (request.rescore && rescorer === undefined) {
      throw new ReplayError('TRENDS_RESCORE_UNAVAILABLE', 're-scoring is not available here: no model is loaded (start the replay without rescore)');
    }
    // The API's schema checks these too; a caller in code (the CLI, tests) gets the same answer.
    if (!(request.to > request.from)) throw new ReplayError('TRENDS_REPLAY_INVALID', '`to` must be after `from`');
    if (request.to - request.from > MAX_REPLAY_RANGE_MS) {
      throw new ReplayError('TRENDS_REPLAY_RANGE', `a replay may cover at most ${MAX_REPLAY_RANGE_MS / WINDOW_MS['1d']} days`);
    }
    if (request.modelVersion !== undefined && !request.rescore) throw new ReplayError('TRENDS_REPLAY_INVALID', '`modelVersion` needs `rescore: true`');
    let modelVersion: string | null = null;
    if (request.rescore && rescorer !== undefined) {
      if (request.modelVersion !== undefined) {
        const known = await rescorer.versions();
        if (!known.includes(request.modelVersion)) {
          throw new ReplayError('TRENDS_REPLAY_INVALID', `unknown model version "${request.modelVersion}"; known versions: ${known.join(', ')}`);
        }
      }
      modelVersion = await rescorer.resolve(request.modelVersion ?? null);
    }
    const now = this.options.clock.now();
    const status: ReplayRecord = {
      id,
      topic: request.topic,
      from: request.from,
      to: request.to,
      speed: request.speed,
      rescore: request.rescore,
      modelVersion,
      startedBy: this.instanceId,
      state: 'running',
      progress: 0,
      cursor: request.from,
      processed: 0,
      alerts: 0,
      startedAt: now,
      finishedAt: null,
      error: null,
      leaseUntil: now + this.leaseMs,
      stopRequested: false,
    };
    const limits: ReplayLimits = { perInstance: options.limits?.perInstance ?? Infinity, total: options.limits?.total ?? Infinity };
    const claimed = await this.registry.claim(status, limits, now, this.options.config.TRENDS_REPLAY_RETENTION_MS);
    if (!claimed.ok) {
      if (claimed.reason === 'exists') throw new ReplayError('TRENDS_REPLAY_EXISTS', `replay ${id} already exists`);
      const message =
        claimed.reason === 'instance'
          ? `${claimed.active} replays are already running or paused here (at most ${limits.perInstance}): stop one or wait for one to finish`
          : `${claimed.active} replays are already running or paused across all instances (at most ${limits.total}): stop one or wait for one to finish`;
      throw new MoodstreamError('TOO_MANY_REQUESTS', message);
    }
    const replay: RunningReplay = {
      status,
      stopRequested: false,
      lost: false,
      stopping: new AbortController(),
      resume: null,
      done: Promise.resolve(publicStatus(status)),
      heartbeat: null,
      beating: Promise.resolve(),
    };
    this.replays.set(id, replay);
    this.options.logger.info({ replay: id, topic: status.topic, from: status.from, to: status.to, speed: status.speed, modelVersion, instance: this.instanceId }, 'replay started');
    this.scheduleHeartbeat(replay);
    replay.done = this.run(replay).then(() => publicStatus(replay.status));
    this.publish(replay);
    return publicStatus(status);
  }

  /** Null when no instance knows the id. */
  async status(id: string): Promise<ReplayStatus | null> {
    const record = await this.registry.get(id);
    return record === null ? null : this.view(record);
  }

  async list(): Promise<ReplayStatus[]> {
    return (await this.registry.list()).map((record) => this.view(record));
  }

  pause(id: string): Promise<ReplayStatus | null> {
    return this.control(id, 'pause');
  }

  resume(id: string): Promise<ReplayStatus | null> {
    return this.control(id, 'resume');
  }

  /** Answers the status as it stands (still running or paused); the runner ends it as 'stopped' shortly. */
  stop(id: string): Promise<ReplayStatus | null> {
    return this.control(id, 'stop');
  }

  /** Resolves with the final status once the replay has finished, failed or stopped (on any instance). */
  async wait(id: string): Promise<ReplayStatus> {
    const local = this.replays.get(id);
    if (local !== undefined) return local.done;
    for (;;) {
      const status = await this.status(id);
      if (status === null) throw new ReplayError('NOT_FOUND', `no replay ${id}`);
      if (!isLive(status.state)) return status;
      await sleep(HEARTBEAT_MS, { clock: this.options.clock });
    }
  }

  /** Stops the replays this instance runs (shutdown); other instances' replays go on. */
  async stopAll(): Promise<void> {
    for (const replay of this.replays.values()) this.stopLocally(replay);
    await Promise.all([...this.replays.values()].map((r) => r.done));
  }

  /** A control request from this instance: recorded in the registry, applied at once when the replay runs here. */
  private async control(id: string, action: ReplayControl): Promise<ReplayStatus | null> {
    const record = await this.registry.control(id, action);
    if (record === null) return null;
    const local = this.replays.get(id);
    if (local !== undefined) {
      this.follow(local, record);
      return this.view(record);
    }
    const status = this.view(record);
    // The runner pushes it too once its heartbeat sees it; this instance's viewers need not wait for that.
    if (action !== 'stop' && isLive(status.state)) this.options.onStatus(status);
    return status;
  }

  /**
   * A record as a reader sees it: a replay running here shows its live progress; one whose runner's lease ran out
   * shows failed (and is marked so in the registry, for everyone).
   */
  private view(record: ReplayRecord): ReplayStatus {
    const local = this.replays.get(record.id);
    if (local !== undefined) {
      const { progress, cursor, processed, alerts } = local.status;
      return publicStatus(isLive(local.status.state) ? { ...record, progress, cursor, processed, alerts } : local.status);
    }
    const now = this.options.clock.now();
    const settled = settle(record, now);
    if (settled !== record) {
      this.registry.markLost(record.id, now, LEASE_LOST).catch((error: unknown) => this.options.logger.warn({ err: error, replay: record.id }, 'could not mark a lost replay failed'));
    }
    return publicStatus(settled);
  }

  /** Applies the registry's word on a replay running here: pause, resume, stop, or lost to another reader. */
  private follow(replay: RunningReplay, record: ReplayRecord): void {
    const { status } = replay;
    if (!isLive(status.state)) return;
    if (!isLive(record.state)) {
      this.options.logger.warn({ replay: status.id, state: record.state }, 'the registry ended this replay (its lease ran out): stopping it here');
      replay.lost = true;
      this.stopLocally(replay);
      return;
    }
    if (record.stopRequested) {
      this.stopLocally(replay);
      return;
    }
    if (record.state !== status.state) {
      status.state = record.state;
      if (record.state === 'running') replay.resume?.();
      this.publish(replay);
    }
  }

  private stopLocally(replay: RunningReplay): void {
    if (!isLive(replay.status.state) || replay.stopRequested) return;
    replay.stopRequested = true;
    replay.stopping.abort();
    replay.resume?.();
  }

  /** Renews the lease and reads control requests every HEARTBEAT_MS while the replay runs here. */
  private scheduleHeartbeat(replay: RunningReplay): void {
    replay.heartbeat = this.options.clock.setTimeout(() => {
      replay.heartbeat = null;
      replay.beating = this.beat(replay).finally(() => {
        if (isLive(replay.status.state)) this.scheduleHeartbeat(replay);
      });
    }, HEARTBEAT_MS);
  }

  private async beat(replay: RunningReplay): Promise<void> {
    const { status } = replay;
    try {
      const { progress, cursor, processed, alerts } = status;
      const record = await this.registry.renew(status.id, { progress, cursor, processed, alerts }, this.options.clock.now() + this.leaseMs);
      if (record === null) {
        // Expired or deleted under us: nobody can see or steer it any more.
        this.options.logger.warn({ replay: status.id }, 'this replay is gone from the registry: stopping it here');
        replay.lost = true;
        this.stopLocally(replay);
      } else {
        this.follow(replay, record);
      }
    } catch (error) {
      this.options.logger.warn({ err: error, replay: status.id }, 'replay heartbeat failed; trying again');
    }
  }

  private lastPublished = new Map<string, number>();

  private publish(replay: RunningReplay, throttle = false): void {
    const now = this.options.clock.now();
    if (throttle && now - (this.lastPublished.get(replay.status.id) ?? -Infinity) < STATUS_EVERY_MS) return;
    this.lastPublished.set(replay.status.id, now);
    this.options.onStatus(publicStatus(replay.status));
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
      const rescore = status.rescore && status.modelVersion !== null ? await this.rescorer?.load(status.modelVersion) : undefined;
      const batches: AsyncIterable<ScoredPost[]> =
        rescore !== undefined
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

      this.options.logger.info({ replay: status.id, processed: status.processed, loadMs: clock.now() - status.startedAt }, 'replay loaded its range');
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
      status.state = replay.lost ? 'failed' : replay.stopRequested ? 'stopped' : 'done';
      if (replay.lost) status.error = LEASE_LOST;
    } catch (error) {
      status.state = 'failed';
      status.error = errorMessage(error);
      this.options.logger.error({ replay: status.id, err: error }, 'replay failed');
    } finally {
      engine.dispose();
      status.finishedAt = clock.now();
      await this.finish(replay);
      this.publish(replay);
      // From now on the registry alone answers for it.
      this.replays.delete(status.id);
      this.lastPublished.delete(status.id);
      this.options.logger.info({ replay: status.id, state: status.state, processed: status.processed, alerts: status.alerts }, 'replay finished');
    }
  }

  /** Ends the heartbeat and writes the final status to the registry (unless the replay was lost: others wrote it). */
  private async finish(replay: RunningReplay): Promise<void> {
    const { status } = replay;
    if (replay.heartbeat !== null) this.options.clock.clearTimeout(replay.heartbeat);
    replay.heartbeat = null;
    await replay.beating;
    if (replay.lost) return;
    const { state, finishedAt, error, progress, cursor, processed, alerts } = status;
    try {
      await this.registry.finish(status.id, { state, finishedAt, error, progress, cursor, processed, alerts }, this.options.config.TRENDS_REPLAY_RETENTION_MS);
    } catch (error) {
      // Its lease runs out and readers show it failed: not its true end, but never stuck "running".
      this.options.logger.error({ err: error, replay: status.id }, 'could not record the end of a replay');
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
    // The bus hands over one fetch at a time (~2,000 records from one partition); the load gathers LOAD_BATCH_POSTS.
    let pending: EventOf<N>[] = [];
    for await (const batch of records) {
      for (const record of batch) if (matches(record.value.topics)) pending.push(record.value);
      if (pending.length >= LOAD_BATCH_POSTS) {
        const values = pending;
        pending = [];
        yield await toScored(values);
      }
    }
    if (pending.length > 0) yield await toScored(pending);
  }
}

/** Longest time range a replay may cover (keeps a mistaken request from reading a whole topic). */
export const MAX_REPLAY_RANGE_MS = 31 * WINDOW_MS['1d'];
