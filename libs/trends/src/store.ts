import type { Alert, WindowSize } from '@moodstream/events';
import type { ExamplePost } from './api-types';
import type { BucketStats, Contribution } from './bucket';
import type { WordShiftStore } from './word-shift';

/** Live aggregates live in this namespace; each replay gets its own (see `replayNamespace`). */
export const LIVE_NAMESPACE = 'live';

export function replayNamespace(replayId: string): string {
  return `replay:${replayId}`;
}

export function namespaceOfAlert(alert: Pick<Alert, 'replayId'>): string {
  return alert.replayId === null ? LIVE_NAMESPACE : replayNamespace(alert.replayId);
}

/** The posts of one topic falling in one 1-minute bucket; the store rolls them up into every size. */
export interface WriteGroup {
  topic: string;
  /** 1-minute bucket start, epoch ms. */
  start: number;
  /** Newest post timestamp in the group, for the topic index. */
  lastSeen: number;
  posts: Contribution[];
}

/** A post offered as an example of `emotion` for one bucket. */
export interface ExampleCandidate {
  topic: string;
  size: WindowSize;
  /** Bucket start, epoch ms. */
  start: number;
  /** Index into EMOTIONS. */
  emotion: number;
  /** The post's probability of that emotion, micro-units: the ranking score. */
  score: number;
  post: ExamplePost;
}

export interface WritePlan {
  groups: WriteGroup[];
  examples: ExampleCandidate[];
}

/** TTLs of one namespace: retention per bucket size, and how long post ids are remembered for deduplication. */
export interface Retention {
  bucketTtlMs: Record<WindowSize, number>;
  seenTtlMs: number;
  examplesPerBucket: number;
}

export interface ApplyResult {
  /** Per group (same order as the plan): posts that were new for that topic. Redelivered ones add 0. */
  added: number[];
}

export interface BucketRef {
  topic: string;
  size: WindowSize;
  start: number;
}

/**
 * Where aggregates, example posts, alerts and small state live. One contract suite
 * (libs/trends/test/store-contract.ts) runs against both implementations.
 */
export interface TrendsStore {
  readonly kind: 'memory' | 'redis';
  /** Word-shift tables of the same kind beside it (docs/word-shift.md); absent in test doubles. */
  readonly wordShift?: WordShiftStore;
  /**
   * Adds each group's posts to its 1-minute bucket and every roll-up, counting a post id once per topic:
   * deduplication and increments happen atomically, so a redelivered batch changes nothing.
   */
  apply(ns: string, plan: WritePlan, retention: Retention): Promise<ApplyResult>;
  /** Bucket statistics in request order; null for an empty or expired bucket. */
  readBuckets(ns: string, refs: BucketRef[]): Promise<(BucketStats | null)[]>;
  /** Best examples of a bucket: of one emotion (highest probability first), or of any emotion. */
  examples(ns: string, ref: BucketRef, emotion: number | null, limit: number): Promise<ExamplePost[]>;
  /** Topics seen in the namespace with their newest post time, newest first. */
  topics(ns: string): Promise<{ topic: string; lastSeen: number }[]>;
  /** Stores an alert under its id; false (and no change) when that id is already stored. */
  saveAlert(alert: Alert, ttlMs: number): Promise<boolean>;
  /** Newest first. */
  listAlerts(ns: string, options: { topic?: string; limit: number }): Promise<Alert[]>;
  getAlert(id: string): Promise<Alert | null>;
  /** Marks an alert acknowledged; null when the id is unknown. */
  acknowledgeAlert(id: string): Promise<Alert | null>;
  getState(ns: string, name: string): Promise<string | null>;
  setState(ns: string, name: string, value: string, ttlMs: number): Promise<void>;
  /** Deletes everything of a namespace (a finished replay someone discards, tests). */
  dropNamespace(ns: string): Promise<void>;
}
