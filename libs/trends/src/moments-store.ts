import type { Redis } from 'ioredis';
import { MomentSchema, type Moment } from '@moodstream/events';
import { parseStored } from './parse-stored';
import { liveEventKeys } from './topic-registry-store';

/**
 * Moments marked during an event, kept by time beside the live data: any chart over that time (live, compared,
 * replayed) lists them. Memory (the embedded mode keeps its data in memory too) or Redis (a sorted set by time and
 * a hash of id → moment).
 */
export interface MomentsStore {
  add(moment: Moment): Promise<void>;
  /** Moments with `from` ≤ at < `to`, oldest first. */
  list(range: { from: number; to: number }): Promise<Moment[]>;
  /** The removed moment; null when the id is unknown. */
  remove(id: string): Promise<Moment | null>;
}

/** Most moments one list returns. */
export const MAX_MOMENTS_LISTED = 500;

const byTime = (a: Moment, b: Moment): number => a.at - b.at || (a.id < b.id ? -1 : 1);

export function createMemoryMomentsStore(): MomentsStore {
  const moments = new Map<string, Moment>();
  return {
    add(moment) {
      moments.set(moment.id, { ...moment });
      return Promise.resolve();
    },
    list: ({ from, to }) => Promise.resolve([...moments.values()].filter((m) => m.at >= from && m.at < to).sort(byTime).slice(0, MAX_MOMENTS_LISTED)),
    remove(id) {
      const found = moments.get(id) ?? null;
      moments.delete(id);
      return Promise.resolve(found);
    },
  };
}

export function createRedisMomentsStore(redis: Redis, options: { prefix: string }): MomentsStore {
  const keys = liveEventKeys(options.prefix);
  return {
    async add(moment) {
      await redis.multi().hset(keys.moments, moment.id, JSON.stringify(moment)).zadd(keys.momentIndex, moment.at, moment.id).exec();
    },
    async list({ from, to }) {
      const ids = await redis.zrangebyscore(keys.momentIndex, from, `(${to}`, 'LIMIT', 0, MAX_MOMENTS_LISTED);
      if (ids.length === 0) return [];
      return parseStored(MomentSchema, await redis.hmget(keys.moments, ...ids)).sort(byTime);
    },
    async remove(id) {
      const raw = await redis.hget(keys.moments, id);
      if (raw === null) return null;
      await redis.multi().hdel(keys.moments, id).zrem(keys.momentIndex, id).exec();
      return parseStored(MomentSchema, [raw])[0] ?? null;
    },
  };
}
