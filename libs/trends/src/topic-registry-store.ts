import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Redis } from 'ioredis';
import { createSerialQueue, systemClock, type Clock } from '@moodstream/core';
import { IngesterReportSchema, WatchedTopicSchema, type IngesterReport, type WatchedTopic } from '@moodstream/events';
import { parseStored } from './parse-stored';

/**
 * Where the watched-topic registry lives: tags added at run time, and what each ingester last reported about its
 * request budget. The dashboard writes it; every ingester re-reads it each poll. Memory (tests), a small JSON file
 * (the embedded mode and a single-machine ingester: survives restarts), or Redis (the distributed mode).
 */
export interface TopicRegistryStore {
  readonly kind: 'memory' | 'file' | 'redis';
  /** Oldest first. */
  list(): Promise<WatchedTopic[]>;
  /** False (and no change) when the tag is already there. */
  add(topic: WatchedTopic): Promise<boolean>;
  /** False when the tag was not there. */
  remove(tag: string): Promise<boolean>;
  /** An ingester's report, kept for `ttlMs` (a stopped ingester's report goes away by itself). */
  report(report: IngesterReport, ttlMs: number): Promise<void>;
  /** Reports that have not expired, newest first. */
  reports(): Promise<IngesterReport[]>;
}

/** Registry keys share one hash tag, so in a Redis Cluster they sit in one slot (one MULTI can span them). */
export function liveEventKeys(prefix: string) {
  const tag = `{${prefix}:live-event}`;
  return {
    topics: `${tag}:watched-topics`,
    reports: `${tag}:ingester-reports`,
    moments: `${tag}:moments`,
    momentIndex: `${tag}:moments-by-time`,
    rules: `${tag}:alert-rules`,
    audit: `${tag}:alert-rule-audit`,
  };
}

interface Expiring {
  report: IngesterReport;
  until: number;
}

const byAddedAt = (a: WatchedTopic, b: WatchedTopic): number => a.addedAt - b.addedAt || (a.tag < b.tag ? -1 : 1);
const freshReports = (entries: Iterable<Expiring>, now: number): IngesterReport[] =>
  [...entries].filter((e) => e.until > now).map((e) => e.report).sort((a, b) => b.reportedAt - a.reportedAt);

export function createMemoryTopicRegistry(options: { clock?: Clock } = {}): TopicRegistryStore {
  const clock = options.clock ?? systemClock;
  const topics = new Map<string, WatchedTopic>();
  const reports = new Map<string, Expiring>();
  return {
    kind: 'memory',
    list: () => Promise.resolve([...topics.values()].sort(byAddedAt)),
    add(topic) {
      if (topics.has(topic.tag)) return Promise.resolve(false);
      topics.set(topic.tag, { ...topic });
      return Promise.resolve(true);
    },
    remove: (tag) => Promise.resolve(topics.delete(tag)),
    report(report, ttlMs) {
      reports.set(report.ingester, { report, until: clock.now() + ttlMs });
      return Promise.resolve();
    },
    reports: () => Promise.resolve(freshReports(reports.values(), clock.now())),
  };
}

/**
 * The registry in a JSON file, re-read on every list so another process writing it (a dashboard beside a
 * standalone ingester) is seen at the next poll; written whole to a temporary file and renamed, so a crash mid-write
 * leaves the old file. Ingester reports stay in memory: they only matter to the process that shows them.
 */
export function createFileTopicRegistry(path: string, options: { clock?: Clock } = {}): TopicRegistryStore {
  const clock = options.clock ?? systemClock;
  const reports = new Map<string, Expiring>();
  const writes = createSerialQueue();
  const read = async (): Promise<WatchedTopic[]> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const parsed = WatchedTopicSchema.array().safeParse((JSON.parse(text) as { topics?: unknown }).topics);
    if (!parsed.success) throw new Error(`${path} is not a watched-topic registry: ${parsed.error.message}`);
    return parsed.data.sort(byAddedAt);
  };
  const write = async (topics: WatchedTopic[]): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ topics }, null, 2)}\n`);
    await rename(temporary, path);
  };
  return {
    kind: 'file',
    list: read,
    add: (topic) =>
      writes.run(async () => {
        const topics = await read();
        if (topics.some((t) => t.tag === topic.tag)) return false;
        await write([...topics, topic]);
        return true;
      }),
    remove: (tag) =>
      writes.run(async () => {
        const topics = await read();
        const kept = topics.filter((t) => t.tag !== tag);
        if (kept.length === topics.length) return false;
        await write(kept);
        return true;
      }),
    report(report, ttlMs) {
      reports.set(report.ingester, { report, until: clock.now() + ttlMs });
      return Promise.resolve();
    },
    reports: () => Promise.resolve(freshReports(reports.values(), clock.now())),
  };
}

/**
 * The registry in Redis: a hash of tag → JSON, and a hash of ingester → report (Redis has no per-field TTL before
 * 7.4, so a report carries its own expiry and stale ones are dropped on read).
 */
export function createRedisTopicRegistry(redis: Redis, options: { prefix: string; clock?: Clock }): TopicRegistryStore {
  const clock = options.clock ?? systemClock;
  const keys = liveEventKeys(options.prefix);
  return {
    kind: 'redis',
    async list() {
      return parseStored(WatchedTopicSchema, await redis.hvals(keys.topics)).sort(byAddedAt);
    },
    async add(topic) {
      return (await redis.hsetnx(keys.topics, topic.tag, JSON.stringify(topic))) === 1;
    },
    async remove(tag) {
      return (await redis.hdel(keys.topics, tag)) === 1;
    },
    async report(report, ttlMs) {
      await redis.hset(keys.reports, report.ingester, JSON.stringify({ report, until: clock.now() + ttlMs }));
    },
    async reports() {
      const now = clock.now();
      const all = await redis.hgetall(keys.reports);
      const live: Expiring[] = [];
      const stale: string[] = [];
      for (const [name, raw] of Object.entries(all)) {
        const entry = JSON.parse(raw) as { report?: unknown; until?: unknown };
        const parsed = IngesterReportSchema.safeParse(entry.report);
        if (parsed.success && typeof entry.until === 'number' && entry.until > now) live.push({ report: parsed.data, until: entry.until });
        else stale.push(name);
      }
      if (stale.length > 0) await redis.hdel(keys.reports, ...stale);
      return freshReports(live, now);
    },
  };
}
