import type { Redis } from 'ioredis';
import type { Clock } from '@moodstream/core';
import { createMemoryAlertRulesStore, createRedisAlertRulesStore } from './alert-rules-store';
import type { LiveEventStores } from './live-event-http';
import { createMemoryMomentsStore, createRedisMomentsStore } from './moments-store';
import { createFileTopicRegistry, createMemoryTopicRegistry, createRedisTopicRegistry } from './topic-registry-store';

/**
 * The live-event stores of the distributed mode, beside the trends data under the same prefix (TRENDS_REDIS_PREFIX;
 * the ingester's INGEST_TOPIC_REGISTRY_PREFIX must match).
 */
export function createRedisLiveEventStores(redis: Redis, options: { prefix: string; clock?: Clock }): LiveEventStores {
  return { topics: createRedisTopicRegistry(redis, options), moments: createRedisMomentsStore(redis, options), rules: createRedisAlertRulesStore(redis, options) };
}

/**
 * The embedded mode's: moments and rules in memory like its trends data, the watched topics in a small JSON file
 * (`registryFile`) so they survive a restart, as the ingester's cursors do; in memory when no file is given.
 */
export function createLocalLiveEventStores(options: { registryFile?: string; clock?: Clock } = {}): LiveEventStores {
  const clock = options.clock === undefined ? {} : { clock: options.clock };
  return {
    topics: options.registryFile === undefined ? createMemoryTopicRegistry(clock) : createFileTopicRegistry(options.registryFile, clock),
    moments: createMemoryMomentsStore(),
    rules: createMemoryAlertRulesStore(),
  };
}
