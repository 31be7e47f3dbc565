import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger } from '@moodstream/core';
import { topicNames, type Alert, type ScoredPost } from '@moodstream/events';
import { BASELINE_SHARES, createRedisTrendsStore, createTrendsService, LIVE_NAMESPACE, syntheticScoredPosts, trendsConfig, type TrendsService } from '@moodstream/trends';
import { describeAlerts, expectedAlertWindowStart, feed, redisDump, SPIKE_TOPIC, spikeStream, storeContract, T0, wordShiftStoreContract } from '@moodstream/trends/testing';
import { clusterNodes } from '../scripts/redis-cluster';

/**
 * The trends store on a three-node Redis Cluster (started by `npm test` through scripts/redis-cluster.ts, or named by
 * REDIS_CLUSTER_URL): the store contract, redelivery and the spike alert, as on one node (trends-store/-redis).
 */
const REDIS_CLUSTER_URL = process.env['REDIS_CLUSTER_URL'];
if (REDIS_CLUSTER_URL === undefined) throw new Error('REDIS_CLUSTER_URL is not set: run this through `npm test`, which starts a local Redis Cluster and sets it');
const logger = createLogger('test', { level: 'silent' });

const cluster = (): Cluster => new Cluster(clusterNodes(REDIS_CLUSTER_URL), { redisOptions: { maxRetriesPerRequest: 2 } });

storeContract('redis cluster', async () => {
  const redis = cluster();
  const prefix = `test:trends-cluster:${randomBytes(6).toString('hex')}`;
  const store = createRedisTrendsStore(redis, { prefix });
  return {
    store,
    dump: () => redisDump(redis, `{${prefix}:c2`),
    cleanup: async () => {
      await Promise.all(Object.keys(await redisDump(redis, `{${prefix}`)).map((key) => redis.unlink(key)));
      await redis.quit();
    },
  };
});

// The word-shift tables on the cluster: one script call per topic stays in the topic's slot, reads go key by key.
wordShiftStoreContract('redis cluster', async () => {
  const redis = cluster();
  const prefix = `test:wordshift-cluster:${randomBytes(6).toString('hex')}`;
  const store = createRedisTrendsStore(redis, { prefix }).wordShift;
  if (store === undefined) throw new Error('the Redis trends store carries no word-shift store');
  return {
    store,
    cleanup: async () => {
      await Promise.all(Object.keys(await redisDump(redis, `{${prefix}`)).map((key) => redis.unlink(key)));
      await redis.quit();
    },
  };
});

describe('trends on a three-node Redis Cluster', () => {
  const redis = cluster();
  const prefix = `test:trends-cluster:${randomBytes(6).toString('hex')}`;
  const bus = createMemoryBus();
  const services: TrendsService[] = [];

  const service = async (name: string) => {
    const store = createRedisTrendsStore(redis, { prefix: `${prefix}:${name}` });
    const alerts: Alert[] = [];
    const svc = createTrendsService({ bus, store, logger, config: trendsConfig(), topics: topicNames(`${name}.`), groupId: name, consume: false });
    svc.on('alert', (a) => alerts.push(a));
    await svc.start();
    services.push(svc);
    return { svc, alerts, store };
  };

  after(async () => {
    for (const svc of services) await svc.stop();
    await Promise.all(Object.keys(await redisDump(redis, `{${prefix}`)).map((key) => redis.unlink(key)));
    await redis.quit();
    await bus.close();
  });

  it('spreads topics over the masters, each topic in one slot; redelivery counts nothing twice', async () => {
    const posts: ScoredPost[] = [...syntheticScoredPosts({ start: T0, durationMs: 5 * 60_000, ratePerMinute: 200, topics: ['a', 'b', 'c', 'd', 'e', 'f'], shares: () => BASELINE_SHARES, seed: 5 })];
    const { svc, store } = await service('redelivery');
    let added = 0;
    await feed(posts, 1_000, async (batch) => {
      added += (await svc.ingest(batch)).added;
    });
    assert.equal(added, posts.length * 2);
    // Every key of a topic sits in that topic's slot; the topics land on more than one master.
    const keys = Object.keys(await redisDump(redis, `{${prefix}:redelivery:live:`));
    const slotsByTopic = new Map<string, Set<number>>();
    for (const key of keys) {
      const topic = /^\{[^}]*:live:([^}]*)\}/.exec(key)?.[1];
      assert.ok(topic !== undefined, key);
      const slot = Number(await redis.cluster('KEYSLOT', key));
      slotsByTopic.set(topic, (slotsByTopic.get(topic) ?? new Set()).add(slot));
    }
    assert.deepEqual([...slotsByTopic.keys()].sort(), ['a', 'all', 'b', 'c', 'd', 'e', 'f']);
    for (const [topic, slots] of slotsByTopic) assert.equal(slots.size, 1, `topic ${topic} spans slots ${[...slots].join(', ')}`);
    const masters = new Set<string>();
    for (const node of redis.nodes('master')) {
      const [, found] = await node.scan('0', 'MATCH', `{${prefix}:redelivery:live:*`, 'COUNT', 10_000);
      if (found.length > 0) masters.add(`${node.options.host}:${node.options.port}`);
    }
    assert.ok(masters.size >= 2, `keys on ${masters.size} master(s) only: not a cluster test`);

    const aggregates = async () => Object.fromEntries(Object.entries(await redisDump(redis, `{${prefix}:redelivery:live:`)).filter(([key]) => key.includes('}:b:')));
    const before = await aggregates();
    let duplicates = 0;
    await feed([...posts].reverse(), 777, async (batch) => {
      duplicates += (await svc.ingest(batch)).duplicates;
    });
    assert.equal(duplicates, posts.length * 2);
    assert.deepEqual(await aggregates(), before);
    assert.deepEqual(
      (await store.topics(LIVE_NAMESPACE)).map((t) => t.topic).sort(),
      ['a', 'all', 'b', 'c', 'd', 'e', 'f'],
    );
  });

  it("a 'scared' spike on one of 5 topics fires exactly one alert at the right window, as on one node", async () => {
    const { svc, alerts } = await service('spike');
    await feed(spikeStream(60), 2_000, (batch) => svc.ingest(batch));
    assert.equal(alerts.length, 1, describeAlerts(alerts));
    assert.equal(alerts[0]?.topic, SPIKE_TOPIC);
    assert.equal(alerts[0]?.emotion, 'scared');
    assert.equal(alerts[0]?.window.start, expectedAlertWindowStart(2));
    assert.deepEqual(await svc.alerts({ limit: 10 }), alerts);
    assert.deepEqual(await svc.alerts({ topic: SPIKE_TOPIC, limit: 10 }), alerts);
  });

  it('dropNamespace removes the namespace from every master', async () => {
    const { svc, store } = await service('drop');
    await svc.ingest([...syntheticScoredPosts({ start: T0, durationMs: 60_000, ratePerMinute: 50, topics: ['x', 'y', 'z'], shares: () => BASELINE_SHARES, seed: 9 })]);
    assert.ok(Object.keys(await redisDump(redis, `{${prefix}:drop:live`)).length > 0);
    await svc.stop();
    services.splice(services.indexOf(svc), 1);
    await store.dropNamespace(LIVE_NAMESPACE);
    assert.deepEqual(Object.keys(await redisDump(redis, `{${prefix}:drop:live`)), []);
  });
});
