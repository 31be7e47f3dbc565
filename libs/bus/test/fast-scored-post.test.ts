import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { argmaxEmotion, EMOTIONS, ScoredPostSchema } from '@moodstream/events';
import { decodeEvent } from '../src/codec';
import { FAST_SCORED_POST_ENABLED, fastScoredPost } from '../src/fast-scored-post';

/** Probabilities that sum to 1 (most of the time: rounding may push a few past the schema's tolerance, as in life). */
const probabilities = fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 6, maxLength: 6 }).map((raw) => {
  const total = raw.reduce((a, b) => a + b, 0) || 1;
  return raw.map((r) => Math.round((r / total) * 1e6) / 1e6);
});

const validPost = fc
  .record({
    postId: fc.string({ minLength: 1, maxLength: 64 }),
    topics: fc.array(fc.constantFrom('music', 'politics', 'new york', 'ünïcode', 'a'), { minLength: 1, maxLength: 4 }),
    timestamp: fc.integer({ min: 0, max: 2 ** 42 }),
    probabilities,
    modality: fc.constantFrom('text', 'image', 'both'),
    explicit: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    modelVersion: fc.string({ minLength: 1, maxLength: 64 }),
    latencies: fc.dictionary(fc.constantFrom('queueMs', 'fetchMs', 'decodeMs', 'backboneMs', 'modelMs', 'totalMs'), fc.double({ min: 0, max: 1e6, noNaN: true })),
    scoredAt: fc.integer({ min: 0, max: 2 ** 42 }),
    text: fc.string({ maxLength: 50 }),
    imageUrl: fc.option(fc.webUrl(), { nil: null }),
    url: fc.option(fc.webUrl(), { nil: null }),
    label: fc.option(fc.constantFrom(...EMOTIONS), { nil: null }),
    imageError: fc.option(fc.string({ maxLength: 20 }), { nil: null }),
  })
  .map((post) => ({ ...post, topEmotion: argmaxEmotion(post.probabilities) }));

/** Every kind of damage a producer, a bit flip or a schema drift could bring, applied to one field. */
const junk = fc.oneof(
  fc.constant(null),
  fc.constant(''),
  fc.constant('#Music'),
  fc.constant(' padded '),
  fc.constant('not a url'),
  fc.constant(-1),
  fc.constant(1.5),
  fc.constant(0.5),
  fc.constant(2 ** 60),
  fc.constant([]),
  fc.constant({}),
  fc.constant([0.5, 0.5, 0, 0, 0, 0]),
  fc.constant([1, 0, 0, 0, 0]),
  fc.constant({ queueMs: -1 }),
  fc.constant({ other: 1 }),
  fc.constant('happy'),
  fc.constant('x'.repeat(65)),
  fc.constant('x'.repeat(2_001)),
  fc.string(),
  fc.double(),
  fc.integer(),
  fc.array(fc.string(), { maxLength: 3 }),
);
const FIELDS = ['postId', 'topics', 'timestamp', 'probabilities', 'topEmotion', 'modality', 'explicit', 'imageError', 'label', 'modelVersion', 'latencies', 'scoredAt', 'text', 'imageUrl', 'url', 'extra', '__proto__'];

const mutated = fc.tuple(validPost, fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.oneof(junk, fc.constant(undefined))), { minLength: 1, maxLength: 3 })).map(([post, edits]) => {
  // Through JSON, as the bus gets it: a deleted field is absent, `__proto__` becomes an own key.
  const record: Record<string, unknown> = JSON.parse(JSON.stringify(post)) as Record<string, unknown>;
  let text = JSON.stringify(record);
  for (const [field, value] of edits) {
    const object = JSON.parse(text) as Record<string, unknown>;
    if (value === undefined) delete object[field];
    else Object.defineProperty(object, field, { value, enumerable: true, configurable: true, writable: true });
    text = JSON.stringify(object);
  }
  return JSON.parse(text) as unknown;
});

test('the fast path is on for the schema as it stands (off only when libs/events changes the fields)', () => {
  assert.equal(FAST_SCORED_POST_ENABLED, true);
});

test('valid ScoredPosts: the fast path accepts the ones zod accepts and returns what zod returns', () => {
  let accepted = 0;
  let total = 0;
  fc.assert(
    fc.property(validPost, (post) => {
      const json = JSON.parse(JSON.stringify(post)) as unknown;
      const zod = ScoredPostSchema.safeParse(json);
      const fast = fastScoredPost(json);
      total++;
      if (fast !== null) {
        accepted++;
        assert.ok(zod.success, 'fast path accepted what zod refuses');
        assert.deepEqual(fast, zod.data);
      }
      // Only a rounding-off sum may send a valid post to zod.
      if (zod.success && fast === null) assert.ok(Math.abs(post.probabilities.reduce((a, b) => a + b, 0) - 1) >= 1e-3 - 1e-9, JSON.stringify(post));
    }),
    { numRuns: 2_000 },
  );
  assert.ok(accepted > total * 0.9, `fast path took ${accepted} of ${total}`);
});

test('damaged records: whatever the fast path accepts, zod accepts with an equal value (never weaker)', () => {
  let refused = 0;
  fc.assert(
    fc.property(mutated, (json) => {
      const zod = ScoredPostSchema.safeParse(json);
      const fast = fastScoredPost(json);
      if (!zod.success) refused++;
      if (fast === null) return;
      assert.ok(zod.success, `fast path accepted what zod refuses: ${JSON.stringify(json)}`);
      assert.deepEqual(fast, zod.data);
    }),
    { numRuns: 5_000 },
  );
  assert.ok(refused > 1_000, `the mutations should mostly break the record (${refused} refused)`);
});

test('decodeEvent gives the same result and the same refusal reason with the fast path', () => {
  const post = { postId: 'p1', topics: ['music'], timestamp: 1, probabilities: [0.5, 0.1, 0.1, 0.1, 0.1, 0.1], topEmotion: 'happy', modality: 'text', explicit: null, modelVersion: 'm', latencies: {}, scoredAt: 2 };
  const ok = decodeEvent('ScoredPost', Buffer.from(JSON.stringify(post)));
  assert.deepEqual(ok, { ok: true, value: ScoredPostSchema.parse(post) });
  const bad = decodeEvent('ScoredPost', Buffer.from(JSON.stringify({ ...post, topEmotion: 'sad' })));
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.reason, /topEmotion: must be the most probable emotion 'happy'/);
});
