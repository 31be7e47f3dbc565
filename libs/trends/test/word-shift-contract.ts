import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { ScoredPost } from '@moodstream/events';
import { MICRO } from '../src/bucket';
import { liveTopicsOf } from '../src/plan';
import type { BucketRef, Retention } from '../src/store';
import { WINDOW_SIZES } from '../src/windows';
import { planWordShift, type TermTable, type WordShiftStore } from '../src/word-shift';
import { createMemoryWordShiftStore } from '../src/word-shift-memory';
import { scoredPost, T0 } from './fixtures';
import { SPIKE_TOPIC, spikeStream } from './scenarios';

export const PLANTED = ['terrified', 'thunder'];
const CALM = ['coffee', 'garden', 'weekend', 'music', 'friends', 'train', 'book', 'lunch', 'dinner', 'morning'];

/** The spike scenario with texts: the spike's scared posts on SPIKE_TOPIC carry the planted words, the rest everyday ones. */
export function textedSpikeStream(): Generator<ScoredPost> {
  const stream = spikeStream(50);
  return (function* () {
    let n = 0;
    for (const post of stream) {
      n += 1;
      const everyday = `${CALM[n % CALM.length]} ${CALM[(n * 7) % CALM.length]} ${CALM[(n * 3 + 1) % CALM.length]}`;
      const spike = post.topics.includes(SPIKE_TOPIC) && post.timestamp >= T0 + 40 * 60_000 && post.topEmotion === 'scared';
      yield { ...post, text: spike ? `${PLANTED.join(' ')} ${everyday}` : everyday };
    }
  })();
}

export interface WordShiftStoreUnderTest {
  store: WordShiftStore;
  cleanup: () => Promise<void>;
}

const DAY = 86_400_000;
const RETENTION: Retention = { bucketTtlMs: { '1m': DAY, '5m': DAY, '1h': DAY, '1d': DAY }, seenTtlMs: DAY, examplesPerBucket: 3 };

/** Words, emoji and a tag-ish spread: enough distinct terms to overflow a small table. */
const VOCABULARY = ['storm', 'thunder', 'terrified', 'calm', 'sunny', 'rain', 'flood', 'panic', 'safe', 'wind', 'dark', 'scared', 'cosy', 'tea', 'lightning', '😱', '🌧️', '☀️'];

export interface PostSpec {
  id: number;
  minute: number;
  words: number[];
  topics: number;
  weights: number[];
}

export const postSpec = fc.record({
  id: fc.integer({ min: 0, max: 10_000 }),
  minute: fc.integer({ min: 0, max: 6 }),
  words: fc.array(fc.integer({ min: 0, max: VOCABULARY.length - 1 }), { maxLength: 6 }),
  topics: fc.integer({ min: 1, max: 3 }),
  weights: fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 6, maxLength: 6 }),
});

/** A ScoredPost from a spec: ids made unique by the caller, probabilities the normalised weights. */
export function postOf(spec: PostSpec, uid: string): ScoredPost {
  const total = spec.weights.reduce((a, b) => a + b, 0);
  const probabilities = spec.weights.map((w) => w / total);
  return scoredPost({
    postId: uid,
    // One to three watched topics: the others are each one's co-occurring tags.
    topics: ['storm-watch', 'festival', 'cup-final'].slice(0, spec.topics),
    timestamp: T0 + spec.minute * 60_000 + (spec.id % 60) * 1000,
    probabilities,
    text: spec.words.map((w) => VOCABULARY[w]).join(' '),
  });
}

/** Every table the posts can touch, in a fixed order. */
export function allRefs(): BucketRef[] {
  const refs: BucketRef[] = [];
  for (const topic of ['storm-watch', 'festival', 'cup-final', 'all']) {
    for (let minute = 0; minute <= 6; minute++) refs.push({ topic, size: '1m', start: T0 + minute * 60_000 });
    for (const size of WINDOW_SIZES) if (size !== '1m') refs.push({ topic, size, start: T0 });
    refs.push({ topic, size: '5m', start: T0 + 300_000 });
  }
  return refs;
}

/** A table as plain sorted data, for deepEqual. */
export function plain(table: TermTable | null): unknown {
  if (table === null) return null;
  return { terms: [...table.terms.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), other: table.other, complete: table.complete };
}

async function tablesAfter(store: WordShiftStore, ns: string, batches: ScoredPost[][], maxTerms: number): Promise<unknown[]> {
  for (const batch of batches) await store.apply(ns, planWordShift(batch, liveTopicsOf), { retention: RETENTION, maxTerms });
  return (await store.readTables(ns, allRefs())).map(plain);
}

/**
 * The behaviour both word-shift stores must have: exact integer masses rolled up into every size, each post once
 * per topic and 1-minute bucket, and the very same tables whatever the batching, order or redelivery — also once a
 * table is full and folds terms into "other" (checked against the memory store fed in one batch).
 */
export function wordShiftStoreContract(name: string, make: () => Promise<WordShiftStoreUnderTest>): void {
  describe(`word-shift store contract: ${name}`, () => {
    const made: WordShiftStoreUnderTest[] = [];
    const fresh = async (): Promise<WordShiftStore> => {
      const underTest = await make();
      made.push(underTest);
      return underTest.store;
    };
    after(async () => {
      for (const underTest of made) await underTest.cleanup();
    });

    it('spreads each post over its terms, exactly, in the 1 m bucket and every roll-up', async () => {
      const store = await fresh();
      const post = postOf({ id: 1, minute: 2, words: [0, 1, 2], topics: 1, weights: [1, 1, 1, 1, 4, 2] }, 'a');
      await store.apply('ns', planWordShift([post], liveTopicsOf), { retention: RETENTION, maxTerms: 100 });
      const [minute, day, all] = await store.readTables('ns', [
        { topic: 'storm-watch', size: '1m', start: T0 + 120_000 },
        { topic: 'storm-watch', size: '1d', start: T0 },
        { topic: 'all', size: '1m', start: T0 + 120_000 },
      ]);
      // 10^6 split over three terms: 333,334 + 333,333 + 333,333 (the remainder goes to the first); likewise each
      // emotion's micro-units: happy's 100,000 → 33,334 / 33,333 / 33,333, disgusted's 200,000 → 66,667 / 66,667 / 66,666.
      assert.deepEqual(minute?.terms.get('storm'), [333_334, 33_334, 33_334, 33_334, 33_334, 133_334, 66_667]);
      assert.deepEqual(minute?.terms.get('thunder'), [333_333, 33_333, 33_333, 33_333, 33_333, 133_333, 66_667]);
      assert.deepEqual(minute?.terms.get('terrified'), [333_333, 33_333, 33_333, 33_333, 33_333, 133_333, 66_666]);
      assert.deepEqual(plain(day ?? null), plain(minute ?? null));
      // Under "all" the post's own topic is a co-occurring tag: four terms.
      assert.equal(all?.terms.size, 4);
      assert.deepEqual(all?.terms.get('#storm-watch')?.[0], 250_000);
      const total = [...(all?.terms.values() ?? [])].reduce((sum, mass) => sum + (mass[0] ?? 0), 0);
      assert.equal(total, MICRO);
    });

    it('counts a redelivered post once and reads null for an empty bucket', async () => {
      const store = await fresh();
      const posts = [0, 1, 2].map((i) => postOf({ id: i, minute: 0, words: [i, i + 1], topics: 1, weights: [1, 2, 3, 4, 5, 6] }, `r${i}`));
      await store.apply('ns', planWordShift(posts, liveTopicsOf), { retention: RETENTION, maxTerms: 100 });
      const once = (await store.readTables('ns', allRefs())).map(plain);
      await store.apply('ns', planWordShift([posts[1]!, posts[2]!, posts[0]!], liveTopicsOf), { retention: RETENTION, maxTerms: 100 });
      assert.deepEqual((await store.readTables('ns', allRefs())).map(plain), once);
      const [empty] = await store.readTables('ns', [{ topic: 'storm-watch', size: '1m', start: T0 + 600_000 }]);
      assert.equal(empty, null);
    });

    it('drops a namespace and nothing else', async () => {
      const store = await fresh();
      const post = postOf({ id: 1, minute: 0, words: [0], topics: 1, weights: [1, 1, 1, 1, 1, 1] }, 'd');
      for (const ns of ['replay:gone', 'replay:kept']) await store.apply(ns, planWordShift([post], liveTopicsOf), { retention: RETENTION, maxTerms: 100 });
      await store.dropNamespace('replay:gone');
      const ref: BucketRef = { topic: 'storm-watch', size: '1m', start: T0 };
      assert.deepEqual(await store.readTables('replay:gone', [ref]), [null]);
      assert.equal((await store.readTables('replay:kept', [ref]))[0]?.terms.size, 1);
    });

    it('keeps a full table bounded, and its sums still close', async () => {
      const store = await fresh();
      const posts = VOCABULARY.map((_, i) => postOf({ id: i, minute: 1, words: [i], topics: 1, weights: [1, 1, 1, 1, 1, 1] }, `f${i}`));
      await store.apply('ns', planWordShift(posts, liveTopicsOf), { retention: RETENTION, maxTerms: 5 });
      const [table] = await store.readTables('ns', [{ topic: 'storm-watch', size: '1m', start: T0 + 60_000 }]);
      assert.equal(table?.terms.size, 5);
      assert.equal(table?.complete, false);
      const weight = [...(table?.terms.values() ?? [])].reduce((sum, mass) => sum + (mass[0] ?? 0), table?.other[0] ?? 0);
      assert.equal(weight, posts.length * MICRO);
    });

    it('ends with the same tables whatever the batching, order and redelivery (also cut at other offsets), full or not', async () => {
      const store = await fresh();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(postSpec, { minLength: 1, maxLength: 40 }),
          fc.integer({ min: 2, max: 30 }),
          fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
          fc.array(fc.nat(), { maxLength: 6 }),
          fc.array(fc.integer({ min: 0, max: 10 }), { maxLength: 4 }),
          fc.integer(),
          async (specs, maxTerms, cuts, redeliveries, overlaps, seed) => {
            run += 1;
            const posts = specs.map((spec, i) => postOf(spec, `p${i}`));
            const reference = await tablesAfter(createMemoryWordShiftStore(), 'ref', [posts], maxTerms);
            // Shuffle (seeded), cut into batches of varying size, and redeliver some batches again later.
            const shuffled = fc.sample(fc.shuffledSubarray(posts, { minLength: posts.length, maxLength: posts.length }), { numRuns: 1, seed })[0]!;
            const batches: ScoredPost[][] = [];
            for (let at = 0, c = 0; at < shuffled.length; c++) {
              const size = cuts[c % cuts.length]!;
              // Some batches start a few posts back (a consumer redelivering from an older commit, cut at other
              // offsets): their 1-minute groups were partly counted before.
              const back = overlaps.length === 0 ? 0 : overlaps[c % overlaps.length]!;
              batches.push(shuffled.slice(Math.max(0, at - back), at + size));
              at += size;
            }
            for (const r of redeliveries) batches.push(batches[r % batches.length]!);
            const tables = await tablesAfter(store, `run${run}`, batches, maxTerms);
            assert.deepEqual(tables, reference);
          },
        ),
        { numRuns: 25, seed: 20261130 },
      );
    });
  });
}
