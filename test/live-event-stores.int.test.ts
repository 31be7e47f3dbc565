import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { VirtualClock } from '@moodstream/core';
import { EMOTIONS, type AlertRule, type IngesterReport } from '@moodstream/events';
import { createLocalLiveEventStores, createRedisLiveEventStores, liveEventKeys, type LiveEventStores } from '@moodstream/trends';

/** The live-event stores' one contract, on memory and on a real Redis (keys under one hash tag, cleaned up). */
const REDIS_URL = process.env['REDIS_URL'];
if (REDIS_URL === undefined) throw new Error('REDIS_URL is not set: run this through `npm test`, which starts Redis and sets it');
const T0 = Date.UTC(2026, 10, 30, 12);
const redis = new Redis(REDIS_URL);
const prefix = `test:live-event:${randomBytes(5).toString('hex')}`;

after(async () => {
  const keys = Object.values(liveEventKeys(prefix));
  for (const key of keys) assert.ok(key.startsWith(`{${prefix}:live-event}:`), `${key} carries the hash tag`);
  await redis.del(...keys);
  await redis.quit();
});

const rule = (topic: string, enabled: boolean): AlertRule => ({ topic, enabled, emotions: [...EMOTIONS], level: 0.01, minCount: 30, forWindows: 2, mutedUntil: null, updatedAt: T0, updatedBy: 'x' });

for (const [kind, make] of [
  ['memory', (clock: VirtualClock) => createLocalLiveEventStores({ clock })],
  ['redis', (clock: VirtualClock) => createRedisLiveEventStores(redis, { prefix, clock })],
] as const) {
  describe(`live-event stores (${kind})`, () => {
    const clock = new VirtualClock(T0);
    const stores: LiveEventStores = make(clock);

    it('watched topics: add once, list oldest first, remove; reports expire', async () => {
      assert.equal(await stores.topics.add({ tag: 'final', addedAt: T0 + 1, addedBy: 'a' }), true);
      assert.equal(await stores.topics.add({ tag: 'final', addedAt: T0 + 2, addedBy: 'b' }), false);
      assert.equal(await stores.topics.add({ tag: 'kick off', addedAt: T0, addedBy: 'a' }), true);
      assert.deepEqual((await stores.topics.list()).map((t) => [t.tag, t.addedBy]), [['kick off', 'a'], ['final', 'a']]);
      assert.equal(await stores.topics.remove('kick off'), true);
      assert.equal(await stores.topics.remove('kick off'), false);
      const limits = { perMinute: 300, perHour: 1000, perDay: 5000 };
      const report: IngesterReport = { ingester: 'host:1', reportedAt: T0, limits, left: limits, pollIntervalMs: 60_000, tags: ['final'], configured: [], lastPolled: { final: T0 } };
      await stores.topics.report(report, 60_000);
      await stores.topics.report({ ...report, ingester: 'host:2', reportedAt: T0 + 5 }, 10_000);
      assert.deepEqual((await stores.topics.reports()).map((r) => r.ingester), ['host:2', 'host:1'], 'newest first');
      clock.advance(30_000);
      assert.deepEqual((await stores.topics.reports()).map((r) => r.ingester), ['host:1'], 'an expired report is gone');
    });

    it('moments: listed by time in [from, to), removed by id', async () => {
      for (const [id, at] of [['b', T0 + 120_000], ['a', T0 + 60_000], ['c', T0 + 600_000]] as const) await stores.moments.add({ id, label: `m ${id}`, at, createdAt: T0, createdBy: 'x' });
      assert.deepEqual((await stores.moments.list({ from: T0, to: T0 + 600_000 })).map((m) => m.id), ['a', 'b']);
      assert.equal((await stores.moments.remove('a'))?.label, 'm a');
      assert.equal(await stores.moments.remove('a'), null);
      assert.deepEqual((await stores.moments.list({ from: 0, to: T0 + 3_600_000 })).map((m) => m.id), ['b', 'c']);
    });

    it('alert rules: set and remove with an audit entry each, newest first', async () => {
      await stores.rules.set('final', rule('final', false), { at: T0, who: 'a', topic: 'final', before: null, after: rule('final', false) });
      await stores.rules.set('storm', rule('storm', true), { at: T0 + 1, who: 'b', topic: 'storm', before: null, after: rule('storm', true) });
      await stores.rules.set('final', null, { at: T0 + 2, who: 'c', topic: 'final', before: rule('final', false), after: null });
      assert.deepEqual((await stores.rules.list()).map((r) => r.topic), ['storm']);
      assert.deepEqual((await stores.rules.audit(10)).map((a) => a.who), ['c', 'b', 'a']);
      assert.deepEqual((await stores.rules.audit(1)).map((a) => a.who), ['c']);
    });
  });
}
