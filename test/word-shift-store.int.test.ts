import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisTrendsStore } from '@moodstream/trends';
import { redisDump, wordShiftStoreContract } from '@moodstream/trends/testing';

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
