import { Redis } from 'ioredis';
import type { BudgetState, IngestStore, PendingBatch, TagCursor } from './types';

/**
 * Distributed-mode store in Redis under one key prefix: a hash of cursors, a sorted set of produced ids
 * scored by post timestamp (trimmed to the newest `maxProduced`), the pending batch and the budget.
 * A commit is one MULTI, so a crash leaves either the old state or the new one.
 */
export class RedisIngestStore implements IngestStore {
  readonly kind = 'redis' as const;
  private readonly keys: { cursors: string; produced: string; pending: string; budget: string };

  private constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly maxProduced: number,
    private readonly ownsConnection: boolean,
  ) {
    this.keys = {
      cursors: `${prefix}:cursors`,
      produced: `${prefix}:produced`,
      pending: `${prefix}:pending`,
      budget: `${prefix}:budget`,
    };
  }

  static async connect(options: { url?: string; redis?: Redis; prefix: string; maxProduced?: number }): Promise<RedisIngestStore> {
    const redis = options.redis ?? new Redis(options.url ?? 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 20 });
    if (options.redis === undefined) await redis.connect();
    return new RedisIngestStore(redis, options.prefix, options.maxProduced ?? 2_000_000, options.redis === undefined);
  }

  async getCursor(key: string): Promise<TagCursor | null> {
    const value = await this.redis.hget(this.keys.cursors, key);
    return value === null ? null : (JSON.parse(value) as TagCursor);
  }

  async seen(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const scores = await this.redis.zmscore(this.keys.produced, ...ids);
    return new Set(ids.filter((_, i) => scores[i] !== null));
  }

  async setPending(batch: PendingBatch): Promise<void> {
    await this.redis.set(this.keys.pending, JSON.stringify(batch));
  }

  async getPending(): Promise<PendingBatch | null> {
    const value = await this.redis.get(this.keys.pending);
    return value === null ? null : (JSON.parse(value) as PendingBatch);
  }

  async commit(update: { cursorKey: string; cursor: TagCursor; produced: { id: string; ts: number }[] }): Promise<void> {
    const multi = this.redis.multi().hset(this.keys.cursors, update.cursorKey, JSON.stringify(update.cursor));
    if (update.produced.length > 0) {
      multi.zadd(this.keys.produced, ...update.produced.flatMap((p) => [String(p.ts), p.id]));
      // Keep the newest maxProduced ids: older ones can no longer come back within any cursor's reach.
      multi.zremrangebyrank(this.keys.produced, 0, -this.maxProduced - 1);
    }
    multi.del(this.keys.pending);
    const results = await multi.exec();
    const failed = results?.find(([error]) => error !== null);
    if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('Redis commit was discarded');
  }

  async getBudget(): Promise<BudgetState | null> {
    const value = await this.redis.get(this.keys.budget);
    return value === null ? null : (JSON.parse(value) as BudgetState);
  }

  async saveBudget(state: BudgetState): Promise<void> {
    await this.redis.set(this.keys.budget, JSON.stringify(state));
  }

  /** Removes every key of this prefix (tests). */
  async destroy(): Promise<void> {
    await this.redis.del(...Object.values(this.keys));
  }

  async close(): Promise<void> {
    if (this.ownsConnection) await this.redis.quit();
  }
}
