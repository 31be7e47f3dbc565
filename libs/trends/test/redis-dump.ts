import type { Cluster, Redis } from 'ioredis';

/**
 * Every key under a prefix with its full value and whether it has a TTL: for "nothing changed" assertions.
 * On a Redis Cluster each master is scanned and read through its own connection (pipelines per node).
 */
export async function redisDump(redis: Redis | Cluster, prefix: string): Promise<Record<string, unknown>> {
  const nodes = redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
  const dump: Record<string, unknown> = {};
  for (const node of nodes) Object.assign(dump, await dumpNode(node, prefix));
  return Object.fromEntries(Object.keys(dump).sort().map((key) => [key, dump[key]]));
}

async function dumpNode(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
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
