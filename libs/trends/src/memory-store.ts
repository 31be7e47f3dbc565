import { systemClock, type Clock } from '@moodstream/core';
import { EMOTION_COUNT, EMOTIONS, WINDOW_MS, type Alert, type WindowSize } from '@moodstream/events';
import type { ExamplePost } from './api-types';
import { addContribution, emptyStats, type BucketStats } from './bucket';
import { namespaceOfAlert, type ApplyResult, type BucketRef, type Retention, type TrendsStore, type WritePlan } from './store';
import type { TrendsConfig } from './config';
import { evictHistory, exampleBytes, HISTORY_BYTES, type HistoryBudget, type HistoryEntry } from './memory-history';
import { bucketStart, WINDOW_SIZES } from './windows';
import type { WordShiftStore } from './word-shift';
import { createMemoryWordShiftStore } from './word-shift-memory';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

interface ExampleEntry {
  score: number;
  post: ExamplePost;
}

/** History entries also say their window size and bucket start: the budget's eviction order. */
interface History<T> extends Expiring<T> {
  size: WindowSize;
  start: number;
}

interface Namespace {
  buckets: Map<string, History<BucketStats>>;
  seen: Map<string, Expiring<Set<string>>>;
  /** One bucket and emotion's example posts; `bytes` is their estimate (memory-history.ts). */
  examples: Map<string, History<Map<string, ExampleEntry>> & { bytes: number }>;
  topics: Map<string, number>;
  state: Map<string, Expiring<string>>;
  /** The namespace's alerts (bodies in `alerts`); an id leaves when the sweep drops its expired body. */
  alertIds: Set<string>;
}

const SWEEP_EVERY_MS = 10_000;

const bucketKey = (ref: BucketRef): string => `${ref.size}\u0000${ref.topic}\u0000${ref.start}`;

/** Entries the memory store holds now, across namespaces: what its memory grows with. */
export interface MemoryStoreFootprint {
  buckets: number;
  /** Post ids in the dedupe sets. */
  seenIds: number;
  examples: number;
  wordShiftTables: number;
  wordShiftTerms: number;
  wordShiftSeenIds: number;
  /** Estimated heap bytes of the history: buckets, example posts, word-shift tables (memory-history.ts). */
  historyBytes: number;
  /** Alert bodies, and ids in the namespaces' alert indexes. */
  alerts: number;
  alertIds: number;
}

export type MemoryTrendsStore = TrendsStore & { wordShift: WordShiftStore; footprint(): MemoryStoreFootprint };

export interface MemoryTrendsStoreOptions {
  clock?: Clock;
  /**
   * Upper bound on how long post ids are remembered for deduplication (here and in the word-shift tables). The
   * engine asks for the allowed lateness plus a 30-minute margin for a slow restart, which the Redis store needs;
   * this store dies with its process, and a restart forgets every id anyway, so the embedded mode passes
   * `processLocalSeenTtlMs`: at 110 posts/s that is 13 minutes of ids instead of 43 (~28 MB instead of ~95 MB).
   */
  maxSeenTtlMs?: number;
  /** Keep the history under this estimated size, dropping the oldest first (memory-history.ts); default unbounded. */
  history?: HistoryBudget;
}

/** How long a post can still be accepted after its 1-minute bucket was last written: what dedupe must cover in-process. */
export function processLocalSeenTtlMs(config: Pick<TrendsConfig, 'TRENDS_ALLOWED_LATENESS_MS' | 'TRENDS_IDLE_WATERMARK_LAG_MS'>): number {
  return config.TRENDS_ALLOWED_LATENESS_MS + config.TRENDS_IDLE_WATERMARK_LAG_MS + WINDOW_MS['1m'];
}

/**
 * History a byte budget must never drop: the alert window's word-shift baseline (read for every alert) and the
 * windows late posts can still reach. 23 minutes at the defaults.
 */
export function protectedHistoryMs(
  config: Pick<TrendsConfig, 'TRENDS_ALLOWED_LATENESS_MS' | 'TRENDS_IDLE_WATERMARK_LAG_MS' | 'TRENDS_ALERT_WINDOW' | 'TRENDS_WORD_SHIFT_BASELINE_WINDOWS'>,
): number {
  // The alert window and its baseline are last written up to the lateness and the watermark lag after they end.
  const baseline = (config.TRENDS_WORD_SHIFT_BASELINE_WINDOWS + 1) * WINDOW_MS[config.TRENDS_ALERT_WINDOW];
  return baseline + config.TRENDS_ALLOWED_LATENESS_MS + config.TRENDS_IDLE_WATERMARK_LAG_MS;
}

/**
 * The embedded-mode store: the same semantics as the Redis store (dedupe per topic, roll-ups,
 * TTLs measured on the given clock), in process memory.
 */
export function createMemoryTrendsStore(options: MemoryTrendsStoreOptions = {}): MemoryTrendsStore {
  const clock = options.clock ?? systemClock;
  const maxSeenTtlMs = options.maxSeenTtlMs ?? Infinity;
  const namespaces = new Map<string, Namespace>();
  const alerts = new Map<string, Expiring<Alert>>();
  let writesSinceSweep = 0;
  let lastSweep = clock.now();
  const wordShift = createMemoryWordShiftStore({ clock, maxSeenTtlMs });

  const ns = (name: string): Namespace => {
    let found = namespaces.get(name);
    if (found === undefined) {
      found = { buckets: new Map(), seen: new Map(), examples: new Map(), topics: new Map(), state: new Map(), alertIds: new Set() };
      namespaces.set(name, found);
    }
    return found;
  };

  const live = <T>(entry: Expiring<T> | undefined): T | undefined =>
    entry !== undefined && entry.expiresAt > clock.now() ? entry.value : undefined;

  const sweep = (): void => {
    const now = clock.now();
    for (const space of namespaces.values()) {
      for (const map of [space.buckets, space.seen, space.examples, space.state] as Map<string, Expiring<unknown>>[]) {
        for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
      }
    }
    for (const [id, entry] of alerts) if (entry.expiresAt <= now) alerts.delete(id);
    for (const space of namespaces.values()) for (const id of space.alertIds) if (!alerts.has(id)) space.alertIds.delete(id);
  };

  const historyBytes = (): number => {
    let bytes = wordShift.historyBytes();
    for (const space of namespaces.values()) {
      bytes += space.buckets.size * HISTORY_BYTES.bucket;
      for (const entry of space.examples.values()) bytes += entry.bytes;
    }
    return bytes;
  };

  const historyEntries = (): HistoryEntry[] => {
    const entries = wordShift.history();
    for (const [ns, space] of namespaces) {
      for (const [key, entry] of space.examples) {
        entries.push({ tier: 'detail', ns, size: entry.size, start: entry.start, bytes: entry.bytes, drop: () => space.examples.delete(key) });
      }
      for (const [key, entry] of space.buckets) {
        entries.push({ tier: 'counts', ns, size: entry.size, start: entry.start, bytes: HISTORY_BYTES.bucket, drop: () => space.buckets.delete(key) });
      }
    }
    return entries;
  };

  const keepWithinBudget = (): void => {
    if (options.history === undefined) return;
    const eviction = evictHistory(historyBytes(), historyEntries, options.history);
    if (eviction !== null) options.history.onEvict?.(eviction);
  };

  return {
    kind: 'memory',
    wordShift,

    footprint() {
      let buckets = 0;
      let seenIds = 0;
      let examples = 0;
      let alertIds = 0;
      for (const space of namespaces.values()) {
        buckets += space.buckets.size;
        alertIds += space.alertIds.size;
        for (const entry of space.seen.values()) seenIds += entry.value.size;
        for (const entry of space.examples.values()) examples += entry.value.size;
      }
      const words = wordShift.footprint();
      return { buckets, seenIds, examples, wordShiftTables: words.tables, wordShiftTerms: words.terms, wordShiftSeenIds: words.seenIds, historyBytes: historyBytes(), alerts: alerts.size, alertIds };
    },

    async apply(name: string, plan: WritePlan, retention: Retention): Promise<ApplyResult> {
      const space = ns(name);
      const now = clock.now();
      // Every 256 writes, and every 10 s for a slow stream of large batches: each pass costs a look at every entry.
      if (++writesSinceSweep >= 256 || now - lastSweep >= SWEEP_EVERY_MS) {
        writesSinceSweep = 0;
        lastSweep = now;
        sweep();
        keepWithinBudget();
      }
      const added = plan.groups.map((group) => {
        const seenKey = `${group.topic}\u0000${group.start}`;
        let seen = live(space.seen.get(seenKey));
        if (seen === undefined) seen = new Set();
        space.seen.set(seenKey, { value: seen, expiresAt: now + Math.min(retention.seenTtlMs, maxSeenTtlMs) });
        const delta = emptyStats();
        for (const post of group.posts) {
          if (seen.has(post.postId)) continue;
          seen.add(post.postId);
          addContribution(delta, post);
        }
        if (delta.count === 0) return 0;
        for (const size of WINDOW_SIZES) {
          const start = bucketStart(group.start, size);
          const key = bucketKey({ topic: group.topic, size, start });
          const stats = live(space.buckets.get(key)) ?? emptyStats();
          stats.count += delta.count;
          stats.explicit += delta.explicit;
          for (let i = 0; i < EMOTION_COUNT; i++) {
            stats.sum[i]! += delta.sum[i]!;
            stats.sumSq[i]! += delta.sumSq[i]!;
            stats.top[i]! += delta.top[i]!;
          }
          space.buckets.set(key, { value: stats, expiresAt: now + retention.bucketTtlMs[size], size, start });
        }
        space.topics.set(group.topic, Math.max(space.topics.get(group.topic) ?? 0, group.lastSeen));
        return delta.count;
      });
      for (const candidate of plan.examples) {
        {
          const size = candidate.size;
          const key = `${bucketKey({ topic: candidate.topic, size, start: candidate.start })}\u0000${candidate.emotion}`;
          const previous = space.examples.get(key);
          const kept = live(previous);
          const entries = kept ?? new Map<string, ExampleEntry>();
          let bytes = kept === undefined ? 0 : previous!.bytes;
          const replaced = entries.get(candidate.post.postId);
          if (replaced !== undefined) bytes -= exampleBytes(replaced.post);
          entries.set(candidate.post.postId, { score: candidate.score, post: candidate.post });
          bytes += exampleBytes(candidate.post);
          // Same eviction order as Redis ZPOPMIN: lowest score, then lowest member.
          while (entries.size > retention.examplesPerBucket) {
            let worst: string | undefined;
            let worstScore = Infinity;
            for (const [id, entry] of entries) {
              if (entry.score < worstScore || (entry.score === worstScore && worst !== undefined && id < worst)) {
                worst = id;
                worstScore = entry.score;
              }
            }
            if (worst === undefined) break;
            bytes -= exampleBytes(entries.get(worst)!.post);
            entries.delete(worst);
          }
          space.examples.set(key, { value: entries, expiresAt: now + retention.bucketTtlMs[size], size, start: candidate.start, bytes });
        }
      }
      return { added };
    },

    async readBuckets(name, refs) {
      const space = namespaces.get(name);
      return refs.map((ref) => {
        const stats = space === undefined ? undefined : live(space.buckets.get(bucketKey(ref)));
        return stats === undefined ? null : structuredClone(stats);
      });
    },

    async examples(name, ref, emotion, limit) {
      const space = namespaces.get(name);
      if (space === undefined) return [];
      const emotions = emotion === null ? EMOTIONS.map((_, i) => i) : [emotion];
      const found = new Map<string, ExampleEntry>();
      for (const e of emotions) {
        const entries = live(space.examples.get(`${bucketKey(ref)}\u0000${e}`));
        if (entries === undefined) continue;
        for (const [id, entry] of entries) {
          const previous = found.get(id);
          if (previous === undefined || entry.score > previous.score) found.set(id, entry);
        }
      }
      return [...found.entries()]
        .sort(([idA, a], [idB, b]) => b.score - a.score || (idA < idB ? -1 : idA > idB ? 1 : 0))
        .slice(0, limit)
        .map(([, entry]) => structuredClone(entry.post));
    },

    async topics(name) {
      const space = namespaces.get(name);
      if (space === undefined) return [];
      return [...space.topics.entries()]
        .map(([topic, lastSeen]) => ({ topic, lastSeen }))
        .sort((a, b) => b.lastSeen - a.lastSeen || (a.topic < b.topic ? -1 : 1));
    },

    async saveAlert(alert, ttlMs) {
      if (live(alerts.get(alert.id)) !== undefined) return false;
      alerts.set(alert.id, { value: structuredClone(alert), expiresAt: clock.now() + ttlMs });
      ns(namespaceOfAlert(alert)).alertIds.add(alert.id);
      return true;
    },

    async listAlerts(name, options) {
      const space = namespaces.get(name);
      if (space === undefined) return [];
      const list: Alert[] = [];
      for (const id of space.alertIds) {
        const alert = live(alerts.get(id));
        if (alert !== undefined && (options.topic === undefined || alert.topic === options.topic)) list.push(structuredClone(alert));
      }
      return list.sort((a, b) => b.firedAt - a.firedAt || (a.id < b.id ? -1 : 1)).slice(0, options.limit);
    },

    async getAlert(id) {
      const alert = live(alerts.get(id));
      return alert === undefined ? null : structuredClone(alert);
    },

    async acknowledgeAlert(id) {
      const alert = live(alerts.get(id));
      if (alert === undefined) return null;
      alert.acknowledged = true;
      return structuredClone(alert);
    },

    async getState(name, key) {
      return live(namespaces.get(name)?.state.get(key)) ?? null;
    },

    async setState(name, key, value, ttlMs) {
      ns(name).state.set(key, { value, expiresAt: clock.now() + ttlMs });
    },

    async dropNamespace(name) {
      await wordShift.dropNamespace(name);
      const space = namespaces.get(name);
      if (space === undefined) return;
      for (const id of space.alertIds) alerts.delete(id);
      namespaces.delete(name);
    },
  };
}
