import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisTrendsStore, liveTopicsOf, planWordShift } from '@moodstream/trends';
import { LONG_RETENTION, redisDump, scoredPost, T0, wordShiftStoreContract } from '@moodstream/trends/testing';

const REDIS_URL = process.env['REDIS_URL'];
if (REDIS_URL === undefined) throw new Error('REDIS_URL is not set: run this through `npm test`, which starts Redis and sets it');

// The word-shift tables the Redis TrendsStore carries, through the same contract as the memory ones (which the
// order-independence property compares it with, full tables included).
wordShiftStoreContract('redis', async () => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const prefix = `test:wordshift:${randomBytes(6).toString('hex')}`;
  const store = createRedisTrendsStore(redis, { prefix }).wordShift;
  if (store === undefined) throw new Error('the Redis trends store carries no word-shift store');
  return {
    store,
    cleanup: async () => {
      const keys = Object.keys(await redisDump(redis, `{${prefix}`));
      for (const key of keys) await redis.unlink(key);
      await redis.quit();
    },
  };
});

test('dropping a namespace of the Redis trends store drops its word-shift tables too', async () => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const prefix = `test:wordshift:${randomBytes(6).toString('hex')}`;
  try {
    const store = createRedisTrendsStore(redis, { prefix });
    const post = scoredPost({ postId: 'x1', timestamp: T0, topics: ['storm-watch'], text: 'thunder' });
    await store.wordShift!.apply('replay:r1', planWordShift([post], liveTopicsOf), { retention: LONG_RETENTION, maxTerms: 100 });
    const ref = { topic: 'storm-watch', size: '1m' as const, start: T0 };
    assert.equal((await store.wordShift!.readTables('replay:r1', [ref]))[0]?.terms.size, 1);
    await store.dropNamespace('replay:r1');
    assert.deepEqual(await store.wordShift!.readTables('replay:r1', [ref]), [null]);
    assert.deepEqual(Object.keys(await redisDump(redis, `{${prefix}`)), []);
  } finally {
    await redis.quit();
  }
});
