import type { ModelVersionChange } from '@moodstream/events';
import type { TrendsRedis } from './redis-store';
import { RedisStoreError } from './redis-errors';

/** A (topic, version) pair seen in a batch of ScoredPosts, with the earliest event time it had there. */
export interface ModelVersionSighting {
  topic: string;
  version: string;
  at: number;
}

/**
 * When each model version was first seen, per topic (docs/model.md, "Model versions on the chart"). The first
 * sighting of a pair wins and later ones change nothing, so aggregators sharing a Redis (scale-out) or a
 * redelivered batch record a version once and only the one that recorded it announces it.
 */
export interface ModelVersionStore {
  /** Records the pairs not stored yet; returns those, each with the version seen on its topic before it. */
  record(sightings: readonly ModelVersionSighting[]): Promise<ModelVersionChange[]>;
  /** The topic's versions first seen at `from` ≤ at < `to`, oldest first. */
  list(query: { topic: string; from: number; to: number }): Promise<ModelVersionChange[]>;
}

/** Versions kept per topic; the oldest go first. A version comes with a promotion, so this is years of them. */
export const MAX_VERSIONS_PER_TOPIC = 200;

/** A topic's versions, each with the one before it in event time (ties: by name, so every reader agrees). */
function chain(topic: string, versions: ReadonlyArray<{ version: string; at: number }>): ModelVersionChange[] {
  const sorted = [...versions].sort((a, b) => a.at - b.at || (a.version < b.version ? -1 : 1));
  return sorted.map((v, i) => ({ topic, version: v.version, at: v.at, previous: i === 0 ? null : sorted[i - 1]!.version }));
}

const inRange = (from: number, to: number) => (c: ModelVersionChange) => c.at >= from && c.at < to;

export function createMemoryModelVersionStore(): ModelVersionStore {
  const topics = new Map<string, Map<string, number>>();
  return {
    record(sightings) {
      const added: ModelVersionSighting[] = [];
      for (const s of sightings) {
        let versions = topics.get(s.topic);
        if (versions === undefined) topics.set(s.topic, (versions = new Map()));
        if (versions.has(s.version)) continue;
        versions.set(s.version, s.at);
        if (versions.size > MAX_VERSIONS_PER_TOPIC) {
          const oldest = chain(s.topic, [...versions].map(([version, at]) => ({ version, at })))[0]!;
          versions.delete(oldest.version);
        }
        added.push(s);
      }
      return Promise.resolve(
        added.flatMap((s) => {
          const versions = topics.get(s.topic)!;
          return chain(s.topic, [...versions].map(([version, at]) => ({ version, at }))).filter((c) => c.version === s.version);
        }),
      );
    },
    list({ topic, from, to }) {
      const versions = topics.get(topic);
      return Promise.resolve(versions === undefined ? [] : chain(topic, [...versions].map(([version, at]) => ({ version, at }))).filter(inRange(from, to)));
    },
  };
}

/**
 * Redis: one sorted set per topic (member: version, score: event time), written with ZADD NX so the first sighting
 * stays. Its key carries the hash tag `{<prefix>:model-versions:<topic>}` (the layout of redis-store.ts), so it runs on
 * a cluster too; it is outside the live namespace on purpose: a store rebuild replays the posts but the history of
 * which model scored them is kept.
 */
export function createRedisModelVersionStore(redis: TrendsRedis, options: { prefix?: string } = {}): ModelVersionStore {
  const base = options.prefix ?? 'moodstream:trends';
  const keyOf = (topic: string): string => `{${base}:model-versions:${topic}}:by-time`;
  const read = async (topic: string): Promise<ModelVersionChange[]> => {
    const flat = await redis.zrange(keyOf(topic), 0, -1, 'WITHSCORES');
    const versions: { version: string; at: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) versions.push({ version: flat[i]!, at: Number(flat[i + 1]) });
    return chain(topic, versions);
  };
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      throw new RedisStoreError(`model versions: ${what} failed: ${(error as Error).message}`, error);
    }
  };
  return {
    record: (sightings) =>
      wrap('record', async () => {
        // One command per pair: the topics' keys live in different slots on a cluster.
        const added = await Promise.all(sightings.map((s) => redis.zadd(keyOf(s.topic), 'NX', s.at, s.version)));
        // Trimmed and read back once per topic, however many of its versions were new.
        const fresh = new Map<string, Set<string>>();
        sightings.forEach((s, i) => {
          if (Number(added[i]) === 1) fresh.set(s.topic, (fresh.get(s.topic) ?? new Set()).add(s.version));
        });
        const changes: ModelVersionChange[] = [];
        for (const [topic, versions] of fresh) {
          await redis.zremrangebyrank(keyOf(topic), 0, -(MAX_VERSIONS_PER_TOPIC + 1));
          changes.push(...(await read(topic)).filter((c) => versions.has(c.version)));
        }
        return changes;
      }),
    list: ({ topic, from, to }) => wrap('list', async () => (await read(topic)).filter(inRange(from, to))),
  };
}
