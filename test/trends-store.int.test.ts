import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisTrendsStore } from '@moodstream/trends';
import { redisDump, storeContract } from '@moodstream/trends/testing';

const REDIS_URL = process.env['REDIS_URL'];
if (REDIS_URL === undefined) throw new Error('REDIS_URL is not set: run this through `npm test`, which starts Redis and sets it');

storeContract('redis', async () => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  const prefix = `test:trends:${randomBytes(6).toString('hex')}`;
  const store = createRedisTrendsStore(redis, { prefix });
  return {
    store,
    // Keys are hash-tagged: `{prefix:c2}…`, `{prefix:c2:<topic>}…` (see redis-store.ts).
    dump: () => redisDump(redis, `{${prefix}:c2`),
    cleanup: async () => {
      const dump = await redisDump(redis, `{${prefix}`);
      const keys = Object.keys(dump);
      if (keys.length > 0) await redis.unlink(...keys);
      await redis.quit();
    },
  };
});
