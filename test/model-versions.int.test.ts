import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createLogger } from '@moodstream/core';
import type { ModelVersionChange } from '@moodstream/events';
import { createModelVersionTracker, createRedisModelVersionStore } from '@moodstream/trends';
import { modelVersionStoreContract, scoredPost, T0 } from '@moodstream/trends/testing';

/** The model-version store on a real Redis: the shared contract, its key layout, and two aggregators on one Redis. */
const REDIS_URL = process.env['REDIS_URL'];
if (REDIS_URL === undefined) throw new Error('REDIS_URL is not set: run this through `npm test`, which starts Redis and sets it');
const redis = new Redis(REDIS_URL);
const prefix = `test:model-versions:${randomBytes(5).toString('hex')}`;
const logger = createLogger('test', { level: 'silent' });

async function ourKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `{${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

after(async () => {
  const keys = await ourKeys();
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('model version store (redis)', () => {
  modelVersionStoreContract(() => createRedisModelVersionStore(redis, { prefix }), T0);

  it('keeps each topic under its own hash tag, outside the live namespace', async () => {
    const keys = await ourKeys();
    assert.ok(keys.length > 0);
    for (const key of keys) assert.match(key, new RegExp(`^\\{${prefix}:model-versions:[^}]+\\}:by-time$`), `${key} is tagged by topic`);
  });

  it('two aggregators sharing Redis see the same new version: it is announced once', async () => {
    const announced: ModelVersionChange[] = [];
    const make = () => createModelVersionTracker(createRedisModelVersionStore(redis, { prefix }), { logger, onChange: (c) => announced.push(c) });
    const [a, b] = [make(), make()];
    // Ten days after the contract's versions, so `all` (every post's topic) has ds-a right before ds-b.
    const t = T0 + 10 * 86_400_000;
    const old = [scoredPost({ postId: 'o1', timestamp: t, modelVersion: 'ds-a', topics: ['swap'] })];
    await a.observe(old);
    await b.observe(old);
    const batch = (id: string, at: number) => [scoredPost({ postId: id, timestamp: at, modelVersion: 'ds-b', topics: ['swap'] })];
    await Promise.all([a.observe(batch('n1', t + 60_000)), b.observe(batch('n2', t + 61_000))]);
    const swaps = announced.filter((c) => c.version === 'ds-b');
    assert.deepEqual(
      swaps.map((c) => c.topic).sort(),
      ['all', 'swap'],
      'one announcement per topic whichever aggregator won',
    );
    for (const change of swaps) assert.equal(change.previous, 'ds-a');
    const listed = await a.list({ topic: 'swap' }, t + 120_000);
    assert.deepEqual(listed.map((c) => [c.version, c.previous]), [
      ['ds-a', null],
      ['ds-b', 'ds-a'],
    ]);
  });
});
