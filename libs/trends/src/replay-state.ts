import type { ReplayStatus } from './api-types';

/**
 * A replay as the shared registry keeps it (replay-registry.ts): its public status, the instance running it, when
 * that instance's lease on it runs out, and whether someone asked it to stop. The registry's copy is the truth for
 * running/paused and the stop request (any instance may change them); the runner owns progress and the final state.
 */
export interface ReplayRecord extends ReplayStatus {
  startedBy: string;
  modelVersion: string | null;
  /** Epoch ms: past this without a renewal, the runner counts as gone and the replay as failed. */
  leaseUntil: number;
  stopRequested: boolean;
}

export type ReplayControl = 'pause' | 'resume' | 'stop';

/** What the runner reports each heartbeat; never the state (that is the registry's, see above). */
export type ReplayProgress = Pick<ReplayStatus, 'progress' | 'cursor' | 'processed' | 'alerts'>;

/** Running or paused replays at once: on the starting instance, and across every instance sharing the registry. */
export interface ReplayLimits {
  perInstance: number;
  total: number;
}

export type ClaimOutcome = { ok: true } | { ok: false; reason: 'exists' } | { ok: false; reason: 'instance' | 'total'; active: number };

/** Why a replay whose runner's lease ran out is shown failed. */
export const LEASE_LOST = 'the instance running this replay stopped renewing its lease (it crashed or lost Redis)';

const live = (state: ReplayStatus['state']): boolean => state === 'running' || state === 'paused';

/** Running or paused with a lease that has not run out: what the concurrency limits count. */
export function isActive(record: ReplayRecord, now: number): boolean {
  return live(record.state) && record.leaseUntil >= now;
}

/** The record as a reader should see it at `now`: a live state whose lease ran out is failed (its runner is gone). */
export function settle(record: ReplayRecord, now: number): ReplayRecord {
  if (!live(record.state) || record.leaseUntil >= now) return record;
  return { ...record, state: 'failed', error: LEASE_LOST, finishedAt: record.leaseUntil };
}

/**
 * A control request, from any instance: pause only a running replay, resume only a paused one, stop either (the
 * runner ends it as 'stopped'). Anything else — a finished replay, a second pause — changes nothing.
 */
export function applyControl(record: ReplayRecord, action: ReplayControl): ReplayRecord {
  if (action === 'pause' && record.state === 'running' && !record.stopRequested) return { ...record, state: 'paused' };
  if (action === 'resume' && record.state === 'paused' && !record.stopRequested) return { ...record, state: 'running' };
  if (action === 'stop' && live(record.state)) return { ...record, stopRequested: true };
  return record;
}

/** Whether `record` may join `existing` under the limits (its id free, both counts under their limit). */
export function checkClaim(existing: readonly ReplayRecord[], record: ReplayRecord, limits: ReplayLimits, now: number): ClaimOutcome {
  if (existing.some((r) => r.id === record.id)) return { ok: false, reason: 'exists' };
  const active = existing.filter((r) => isActive(r, now));
  const mine = active.filter((r) => r.startedBy === record.startedBy).length;
  if (mine >= limits.perInstance) return { ok: false, reason: 'instance', active: mine };
  if (active.length >= limits.total) return { ok: false, reason: 'total', active: active.length };
  return { ok: true };
}

/** The public status of a record (what the API answers and pushes). */
export function publicStatus(record: ReplayRecord): ReplayStatus {
  const { leaseUntil: _lease, stopRequested: _stop, ...status } = record;
  return status;
}
