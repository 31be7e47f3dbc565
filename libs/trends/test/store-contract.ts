import assert from 'node:assert/strict';
import { describe, it, before, after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ScoredPost } from '@moodstream/events';
import { emptyStats, addContribution, contributionOf } from '../src/bucket';
import { liveTopicsOf, planWrites } from '../src/plan';
import type { BucketRef, Retention, TrendsStore } from '../src/store';
import { syntheticScoredPosts, BASELINE_SHARES } from '../src/synthetic';
import { scoredPost, T0, testAlert as alert } from './fixtures';

export interface StoreUnderTest {
  store: TrendsStore;
  /** Every key/entry the store holds under this test's prefix, to prove exact equality. */
  dump?: () => Promise<Record<string, unknown>>;
  cleanup: () => Promise<void>;
}

const DAY = 86_400_000;
export const LONG_RETENTION: Retention = {
  bucketTtlMs: { '1m': DAY, '5m': DAY, '1h': DAY, '1d': DAY },
  seenTtlMs: DAY,
  examplesPerBucket: 5,
};

const plan = (posts: readonly ScoredPost[], candidates = 3) => planWrites(posts, { topicsOf: liveTopicsOf, candidatesPerBucket: candidates });

function stream(count: number, seed: number, topics = ['cats', 'dogs', 'storm watch']): ScoredPost[] {
  const posts: ScoredPost[] = [];
  for (const post of syntheticScoredPosts({ start: T0, durationMs: DAY, ratePerMinute: 7, topics, shares: () => BASELINE_SHARES, seed })) {
    posts.push(post);
    if (posts.length >= count) break;
  }
  return posts;
}

const withoutExamples = (dump: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(dump).filter(([key]) => !key.includes(':e:')));

/** Runs the same behavioural contract against any TrendsStore. */
export function storeContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`TrendsStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: TrendsStore;
    before(async () => {
      subject = await make();
      store = subject.store;
    });
    after(async () => {
      await subject.cleanup();
    });

    it('counts a post once in its 1 m bucket and every roll-up, per topic and "all"', async () => {
      const ns = 'c1';
      const posts = [
        scoredPost({ postId: 'a', timestamp: T0 + 5_000, topics: ['cats'], probabilities: [0.7, 0.1, 0.1, 0.05, 0.05, 0], explicit: 0.9 }),
        scoredPost({ postId: 'b', timestamp: T0 + 65_000, topics: ['cats', 'dogs'], probabilities: [0.1, 0.6, 0.1, 0.1, 0.05, 0.05] }),
      ];
      const result = await store.apply(ns, plan(posts), LONG_RETENTION);
      assert.equal(result.added.reduce((a, b) => a + b, 0), 5, 'a: cats+all, b: cats+dogs+all');
      const [m0, m1, m5, h1, d1, dogs5, all1d] = await store.readBuckets(ns, [
        { topic: 'cats', size: '1m', start: T0 },
        { topic: 'cats', size: '1m', start: T0 + 60_000 },
        { topic: 'cats', size: '5m', start: T0 },
        { topic: 'cats', size: '1h', start: T0 },
        { topic: 'cats', size: '1d', start: T0 },
        { topic: 'dogs', size: '5m', start: T0 },
        { topic: 'all', size: '1d', start: T0 },
      ]);
      assert.equal(m0?.count, 1);
      assert.equal(m1?.count, 1);
      assert.deepEqual(m0?.sum, [700_000, 100_000, 100_000, 50_000, 50_000, 0]);
      assert.deepEqual(m0?.sumSq, [490_000, 10_000, 10_000, 2_500, 2_500, 0]);
      assert.equal(m0?.explicit, 1);
      assert.deepEqual(m0?.top, [1, 0, 0, 0, 0, 0]);
      const expected = emptyStats();
      addContribution(expected, contributionOf(posts[0]!));
      addContribution(expected, contributionOf(posts[1]!));
      assert.deepEqual(m5, expected);
      assert.deepEqual(h1, expected);
      assert.deepEqual(d1, expected);
      assert.equal(dogs5?.count, 1);
      assert.deepEqual(all1d, expected);
    });

    it('counts the same post twice in one batch (a producer retry) once', async () => {
      const post = scoredPost({ postId: 'twice', timestamp: T0 + 7_000, topics: ['cats', 'cats'] });
      const result = await store.apply('c1b', plan([post, post]), LONG_RETENTION);
      assert.deepEqual(result.added, [1, 1]);
      const [cats, all] = await store.readBuckets('c1b', [
        { topic: 'cats', size: '1m', start: T0 },
        { topic: 'all', size: '1d', start: T0 },
      ]);
      assert.equal(cats?.count, 1);
      assert.equal(all?.count, 1);
    });

    it('returns null for empty buckets and other namespaces', async () => {
      const [empty, otherNs] = await store.readBuckets('c1', [
        { topic: 'cats', size: '1m', start: T0 + 10 * 60_000 },
        { topic: 'nope', size: '1m', start: T0 },
      ]);
      assert.equal(empty, null);
      assert.equal(otherNs, null);
      assert.deepEqual(await store.readBuckets('c-other', [{ topic: 'cats', size: '1m', start: T0 }]), [null]);
    });

    it('a redelivered batch changes nothing, whatever its batching', async () => {
      const posts = stream(3_000, 7);
      const first = await store.apply('c2', plan(posts), LONG_RETENTION);
      assert.equal(first.added.reduce((a, b) => a + b, 0), posts.length * 2);
      const before = subject.dump ? await subject.dump() : null;
      const refs = ['cats', 'dogs', 'storm watch', 'all'].flatMap((topic) =>
        (['1m', '5m', '1h', '1d'] as const).flatMap((size) => [0, 1, 2, 3].map((k) => ({ topic, size, start: T0 + k * (size === '1m' ? 60_000 : size === '5m' ? 300_000 : size === '1h' ? 3_600_000 : DAY) }))),
      );
      const statsBefore = await store.readBuckets('c2', refs);
      const same = await store.apply('c2', plan(posts), LONG_RETENTION);
      assert.equal(same.added.reduce((a, b) => a + b, 0), 0);
      if (before !== null) assert.deepEqual(await subject.dump!(), before, 'the identical batch again changes no key at all');
      // Redeliver in different batch shapes, shuffled.
      const shuffled = [...posts].reverse();
      for (let i = 0; i < shuffled.length; i += 777) {
        const again = await store.apply('c2', plan(shuffled.slice(i, i + 777)), LONG_RETENTION);
        assert.equal(again.added.reduce((a, b) => a + b, 0), 0);
      }
      assert.deepEqual(await store.readBuckets('c2', refs), statsBefore);
      // Example posts may improve with other batch shapes (each batch offers its best few); aggregates may not change.
      if (before !== null) assert.deepEqual(withoutExamples(await subject.dump!()), withoutExamples(before));
    });

    it('gives the same aggregates for the same posts in any order or batching', async () => {
      const posts = stream(2_000, 11);
      await store.apply('c3a', plan(posts), LONG_RETENTION);
      const shuffled = [...posts].sort((a, b) => (a.postId < b.postId ? -1 : 1));
      for (let i = 0; i < shuffled.length; i += 333) await store.apply('c3b', plan(shuffled.slice(i, i + 333)), LONG_RETENTION);
      const refs: BucketRef[] = ['cats', 'all'].flatMap((topic) => [0, 1, 2, 3, 4, 5].map((k) => ({ topic, size: '1m' as const, start: T0 + k * 60_000 })));
      refs.push({ topic: 'all', size: '1d', start: T0 });
      const a = await store.readBuckets('c3a', refs);
      assert.ok(a.every((s) => s !== null && s.count > 0));
      assert.deepEqual(await store.readBuckets('c3b', refs), a);
    });

    it('counts only the new posts of a batch cut at other offsets (groups partly counted before)', async () => {
      const posts = stream(2_000, 13);
      await store.apply('c3c', plan(posts), LONG_RETENTION);
      // Overlapping cuts, as a consumer restarting from an older commit sees them: each 1-minute group of the second
      // and third batch holds posts counted before and new ones.
      const first = await store.apply('c3d', plan(posts.slice(0, 900)), LONG_RETENTION);
      const second = await store.apply('c3d', plan(posts.slice(600, 1_500)), LONG_RETENTION);
      const third = await store.apply('c3d', plan(posts.slice(1_400)), LONG_RETENTION);
      const sum = (result: { added: number[] }): number => result.added.reduce((a, b) => a + b, 0);
      assert.deepEqual([sum(first), sum(second), sum(third)], [900 * 2, 600 * 2, 500 * 2]);
      const refs: BucketRef[] = ['cats', 'dogs', 'all'].flatMap((topic) => Array.from({ length: 100 }, (_, k) => ({ topic, size: '1m' as const, start: T0 + k * 60_000 })));
      refs.push({ topic: 'all', size: '1d', start: T0 }, { topic: 'dogs', size: '1h', start: T0 + 3_600_000 });
      assert.deepEqual(await store.readBuckets('c3d', refs), await store.readBuckets('c3c', refs));
    });

    it('keeps the best examples per bucket and emotion, capped, highest probability first', async () => {
      const ns = 'c4';
      const posts = Array.from({ length: 10 }, (_, i) =>
        scoredPost({ postId: `ex${String(i).padStart(2, '0')}`, timestamp: T0 + i * 1_000, probabilities: [0.05, 0.05, 0.05, 0.05, 0.3 + i * 0.05, 0.5 - i * 0.05].map((p) => Math.round(p * 100) / 100), text: `text <b>${i}</b>` }),
      );
      // One post at a time, so every post is offered as a candidate.
      for (const post of posts) await store.apply(ns, plan([post]), LONG_RETENTION);
      const scared = await store.examples(ns, { topic: 'cats', size: '1m', start: T0 }, 4, 10);
      assert.deepEqual(scared.map((p) => p.postId), ['ex09', 'ex08', 'ex07', 'ex06', 'ex05']);
      assert.equal(scared[0]?.text, 'text <b>9</b>');
      const fromHour = await store.examples(ns, { topic: 'cats', size: '1h', start: T0 }, 4, 2);
      assert.deepEqual(fromHour.map((p) => p.postId), ['ex09', 'ex08']);
      const any = await store.examples(ns, { topic: 'all', size: '1m', start: T0 }, null, 3);
      assert.equal(any.length, 3);
      assert.deepEqual(await store.examples(ns, { topic: 'cats', size: '1m', start: T0 + 60_000 }, 4, 10), []);
    });

    it('lists topics with their newest post time', async () => {
      const ns = 'c5';
      await store.apply(ns, plan([scoredPost({ postId: 'x', timestamp: T0 + 1_000, topics: ['a'] }), scoredPost({ postId: 'y', timestamp: T0 + 9_000, topics: ['b'] })]), LONG_RETENTION);
      await store.apply(ns, plan([scoredPost({ postId: 'z', timestamp: T0 + 500, topics: ['b'] })]), LONG_RETENTION);
      assert.deepEqual(await store.topics(ns), [
        { topic: 'all', lastSeen: T0 + 9_000 },
        { topic: 'b', lastSeen: T0 + 9_000 },
        { topic: 'a', lastSeen: T0 + 1_000 },
      ]);
    });

    it('stores alerts once, lists them newest first, acknowledges them', async () => {
      const suffix = Math.random().toString(36).slice(2);
      const a1 = alert(`a1-${suffix}`, T0 + 60_000, 'cats');
      const a2 = alert(`a2-${suffix}`, T0 + 120_000, 'dogs');
      const r1 = alert(`r1-${suffix}`, T0 + 180_000, 'cats', `rp-${suffix}`);
      assert.equal(await store.saveAlert(a1, DAY), true);
      assert.equal(await store.saveAlert({ ...a1, observed: 0.9 }, DAY), false);
      assert.equal(await store.saveAlert(a2, DAY), true);
      assert.equal(await store.saveAlert(r1, DAY), true);
      assert.deepEqual((await store.listAlerts('live', { limit: 10 })).filter((a) => a.id.endsWith(suffix)).map((a) => a.id), [a2.id, a1.id]);
      assert.deepEqual((await store.listAlerts('live', { topic: 'cats', limit: 10 })).filter((a) => a.id.endsWith(suffix)), [a1]);
      assert.deepEqual(await store.listAlerts(`replay:rp-${suffix}`, { limit: 10 }), [r1]);
      assert.equal((await store.listAlerts('live', { limit: 1 })).length, 1);
      const acked = await store.acknowledgeAlert(a1.id);
      assert.equal(acked?.acknowledged, true);
      assert.equal((await store.getAlert(a1.id))?.acknowledged, true);
      assert.equal(await store.acknowledgeAlert('no-such-alert'), null);
      assert.equal(await store.getAlert('no-such-alert'), null);
      await store.dropNamespace(`replay:rp-${suffix}`);
      assert.equal(await store.getAlert(r1.id), null);
      assert.deepEqual(await store.listAlerts(`replay:rp-${suffix}`, { limit: 10 }), []);
      await store.dropNamespace('live');
    });

    it('keeps state per namespace and drops a namespace completely', async () => {
      await store.setState('c6', 'engine', '{"w":1}', DAY);
      await store.apply('c6', plan([scoredPost({ postId: 's', timestamp: T0 })]), LONG_RETENTION);
      assert.equal(await store.getState('c6', 'engine'), '{"w":1}');
      assert.equal(await store.getState('c7', 'engine'), null);
      await store.dropNamespace('c6');
      assert.equal(await store.getState('c6', 'engine'), null);
      assert.deepEqual(await store.readBuckets('c6', [{ topic: 'cats', size: '1m', start: T0 }]), [null]);
      assert.deepEqual(await store.topics('c6'), []);
      // Dropped post ids are forgotten too: the same post counts again.
      const again = await store.apply('c6', plan([scoredPost({ postId: 's', timestamp: T0 })]), LONG_RETENTION);
      assert.deepEqual(again.added, [1, 1]);
    });

    it('expires buckets and forgets post ids after their retention', async () => {
      const short: Retention = { bucketTtlMs: { '1m': 150, '5m': 150, '1h': 10_000, '1d': 10_000 }, seenTtlMs: 150, examplesPerBucket: 3 };
      await store.apply('c8', plan([scoredPost({ postId: 'e', timestamp: T0 })]), short);
      await sleep(400);
      const [m1, h1] = await store.readBuckets('c8', [
        { topic: 'cats', size: '1m', start: T0 },
        { topic: 'cats', size: '1h', start: T0 },
      ]);
      assert.equal(m1, null);
      assert.equal(h1?.count, 1);
      const again = await store.apply('c8', plan([scoredPost({ postId: 'e', timestamp: T0 })]), short);
      assert.deepEqual(again.added, [1, 1], 'the seen-set expired with its retention');
    });
  });
}
