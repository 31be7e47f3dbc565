import type { Redis } from 'ioredis';

/** Every key under a prefix with its full value and whether it has a TTL: for "nothing changed" assertions. */
export async function redisDump(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  keys.sort();
  const meta = redis.pipeline();
  for (const key of keys) meta.type(key).pttl(key);
  const metaResults = (await meta.exec()) ?? [];
  const types = keys.map((_, i) => String(metaResults[2 * i]?.[1]));
  const values = redis.pipeline();
  keys.forEach((key, i) => {
    const type = types[i];
    if (type === 'hash') values.hgetall(key);
    else if (type === 'set') values.smembers(key);
    else if (type === 'zset') values.zrange(key, 0, -1, 'WITHSCORES');
    else values.get(key);
  });
  const valueResults = (await values.exec()) ?? [];
  const dump: Record<string, unknown> = {};
  keys.forEach((key, i) => {
    const value = valueResults[i]?.[1];
    dump[key] = {
      type: types[i],
      hasTtl: Number(metaResults[2 * i + 1]?.[1]) > 0,
      value: types[i] === 'set' ? [...(value as string[])].sort() : value,
    };
  });
  return dump;
}
