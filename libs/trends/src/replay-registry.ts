import { applyControl, checkClaim, isActive, type ClaimOutcome, type ReplayControl, type ReplayLimits, type ReplayProgress, type ReplayRecord } from './replay-state';
import type { ReplayStatus } from './api-types';

/** How a runner ends its replay: the final state with its last progress. */
export type ReplayEnd = ReplayProgress & Pick<ReplayStatus, 'state' | 'finishedAt' | 'error'>;

/**
 * Every replay of every instance sharing one trends store: memory in the embedded mode (one process), Redis in the
 * distributed mode (replay-registry-redis.ts), so a replay started on one dashboard instance is listed, read, paused,
 * resumed and stopped through any other. One contract (libs/trends/test/replay-registry-contract.ts) runs on both.
 * Reads return the records as stored: `settle` (replay-state.ts) says how a reader shows one whose lease ran out.
 */
export interface ReplayRegistry {
  readonly kind: 'memory' | 'redis';
  /** Adds the record if its id is free and the limits allow — checked and added atomically, across instances. */
  claim(record: ReplayRecord, limits: ReplayLimits, now: number, ttlMs: number): Promise<ClaimOutcome>;
  get(id: string): Promise<ReplayRecord | null>;
  /** Newest first. */
  list(): Promise<ReplayRecord[]>;
  /** Applies a control request (see `applyControl`); the record after it, null when the id is unknown. */
  control(id: string, action: ReplayControl): Promise<ReplayRecord | null>;
  /**
   * The runner's heartbeat: its progress and a new lease, while the replay is running or paused. Answers the record
   * (the runner learns pause, resume and stop from it); null when it is gone.
   */
  renew(id: string, progress: ReplayProgress, leaseUntil: number): Promise<ReplayRecord | null>;
  /** The runner's last word; kept `ttlMs` from now. */
  finish(id: string, end: ReplayEnd, ttlMs: number): Promise<void>;
  /** Stores `settle`'s verdict: failed, if the replay is still running or paused and its lease ran out before `now`. */
  markLost(id: string, now: number, error: string): Promise<void>;
}

/** The embedded mode's registry: one process, so a map; records expire `ttlMs` after their last write. */
export function createMemoryReplayRegistry(clock: { now(): number }): ReplayRegistry {
  const records = new Map<string, { record: ReplayRecord; expiresAt: number }>();
  const alive = (): ReplayRecord[] => {
    const now = clock.now();
    for (const [id, entry] of records) if (entry.expiresAt <= now) records.delete(id);
    return [...records.values()].map((e) => e.record);
  };
  const find = (id: string): ReplayRecord | null => alive().find((r) => r.id === id) ?? null;
  const put = (record: ReplayRecord, expiresAt: number): ReplayRecord => {
    records.set(record.id, { record, expiresAt });
    return { ...record };
  };
  const keep = (id: string): number => records.get(id)?.expiresAt ?? 0;
  return {
    kind: 'memory',
    claim(record, limits, now, ttlMs) {
      const outcome = checkClaim(alive(), record, limits, now);
      if (outcome.ok) put({ ...record }, clock.now() + ttlMs);
      return Promise.resolve(outcome);
    },
    get: (id) => Promise.resolve(copy(find(id))),
    list: () => Promise.resolve(alive().map((r) => ({ ...r })).sort((a, b) => b.startedAt - a.startedAt)),
    control(id, action) {
      const record = find(id);
      return Promise.resolve(record === null ? null : put(applyControl(record, action), keep(id)));
    },
    renew(id, progress, leaseUntil) {
      const record = find(id);
      if (record === null) return Promise.resolve(null);
      const live = record.state === 'running' || record.state === 'paused';
      return Promise.resolve(live ? put({ ...record, ...progress, leaseUntil }, keep(id)) : { ...record });
    },
    finish(id, end, ttlMs) {
      const record = find(id);
      if (record !== null) put({ ...record, ...end }, clock.now() + ttlMs);
      return Promise.resolve();
    },
    markLost(id, now, error) {
      const record = find(id);
      const lost = record !== null && (record.state === 'running' || record.state === 'paused') && !isActive(record, now);
      if (lost) put({ ...record, state: 'failed', error, finishedAt: record.leaseUntil }, keep(id));
      return Promise.resolve();
    },
  };
}

const copy = (record: ReplayRecord | null): ReplayRecord | null => (record === null ? null : { ...record });
