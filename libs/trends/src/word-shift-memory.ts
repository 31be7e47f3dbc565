import { systemClock, type Clock } from '@moodstream/core';
import type { WindowSize } from '@moodstream/events';
import { HISTORY_BYTES, type HistoryEntry } from './memory-history';
import type { BucketRef } from './store';
import { bucketStart, WINDOW_SIZES } from './windows';
import type { WordShiftStore } from './word-shift';
import { applyDelta, deltaOf, emptyTable, readTable, type MutableTable } from './word-shift-table';

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

interface Space {
  tables: Map<string, Expiring<MutableTable> & { size: WindowSize; start: number }>;
  seen: Map<string, Expiring<Set<string>>>;
}

const tableKey = (ref: BucketRef): string => `${ref.size}\u0000${ref.topic}\u0000${ref.start}`;
const tableBytes = (table: MutableTable): number => HISTORY_BYTES.table + table.terms.size * HISTORY_BYTES.term;

/** Word-shift tables in process memory, beside the memory TrendsStore: same dedupe, roll-ups and TTLs on the clock. */
export type MemoryWordShiftStore = WordShiftStore & {
  footprint(): { tables: number; terms: number; seenIds: number };
  /** Estimated heap bytes of the tables (memory-history.ts). */
  historyBytes(): number;
  /** The tables as history the memory TrendsStore's budget may drop. */
  history(): HistoryEntry[];
};

/** `maxSeenTtlMs`: as for the memory TrendsStore (memory-store.ts), an upper bound on how long post ids are kept. */
export function createMemoryWordShiftStore(options: { clock?: Clock; maxSeenTtlMs?: number } = {}): MemoryWordShiftStore {
  const clock = options.clock ?? systemClock;
  const maxSeenTtlMs = options.maxSeenTtlMs ?? Infinity;
  const spaces = new Map<string, Space>();
  let writesSinceSweep = 0;

  const space = (ns: string): Space => {
    let found = spaces.get(ns);
    if (found === undefined) {
      found = { tables: new Map(), seen: new Map() };
      spaces.set(ns, found);
    }
    return found;
  };
  const live = <T>(entry: Expiring<T> | undefined): T | undefined => (entry !== undefined && entry.expiresAt > clock.now() ? entry.value : undefined);
  const sweep = (): void => {
    const now = clock.now();
    for (const s of spaces.values()) {
      for (const map of [s.tables, s.seen] as Map<string, Expiring<unknown>>[]) for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
    }
  };

  return {
    kind: 'memory',

    footprint() {
      let tables = 0;
      let terms = 0;
      let seenIds = 0;
      for (const s of spaces.values()) {
        tables += s.tables.size;
        for (const entry of s.tables.values()) terms += entry.value.terms.size;
        for (const entry of s.seen.values()) seenIds += entry.value.size;
      }
      return { tables, terms, seenIds };
    },

    historyBytes() {
      let bytes = 0;
      for (const s of spaces.values()) for (const entry of s.tables.values()) bytes += tableBytes(entry.value);
      return bytes;
    },

    history() {
      const entries: HistoryEntry[] = [];
      for (const [ns, s] of spaces) {
        for (const [key, entry] of s.tables) {
          entries.push({ tier: 'detail', ns, size: entry.size, start: entry.start, bytes: tableBytes(entry.value), drop: () => s.tables.delete(key) });
        }
      }
      return entries;
    },

    async apply(ns, groups, settings) {
      const s = space(ns);
      const now = clock.now();
      if (++writesSinceSweep >= 256) {
        writesSinceSweep = 0;
        sweep();
      }
      for (const group of groups) {
        const seenKey = `${group.topic}\u0000${group.start}`;
        const seen = live(s.seen.get(seenKey)) ?? new Set<string>();
        s.seen.set(seenKey, { value: seen, expiresAt: now + Math.min(settings.retention.seenTtlMs, maxSeenTtlMs) });
        const fresh = group.posts.filter((post) => {
          if (seen.has(post.postId)) return false;
          seen.add(post.postId);
          return true;
        });
        if (fresh.length === 0) continue;
        const delta = deltaOf(fresh);
        for (const size of WINDOW_SIZES) {
          const start = bucketStart(group.start, size);
          const key = tableKey({ topic: group.topic, size, start });
          const table = live(s.tables.get(key)) ?? emptyTable();
          applyDelta(table, delta, settings.maxTerms);
          s.tables.set(key, { value: table, expiresAt: now + settings.retention.bucketTtlMs[size], size, start });
        }
      }
    },

    async readTables(ns, refs) {
      const s = spaces.get(ns);
      return refs.map((ref) => {
        const table = s === undefined ? undefined : live(s.tables.get(tableKey(ref)));
        return table === undefined ? null : readTable(table);
      });
    },

    async dropNamespace(ns) {
      spaces.delete(ns);
    },
  };
}
