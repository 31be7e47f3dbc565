import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '@moodstream/core';
import { argmaxEmotion, describeZodError, EMOTIONS, ScoredPostSchema } from '@moodstream/events';
import { decodeEvent, encodeEvent } from '../src/codec';
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
        assert.equal(JSON.stringify(fast), JSON.stringify(zod.data));
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
      assert.equal(JSON.stringify(fast), JSON.stringify(zod.data));
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

// ---------- the encode side: ScoredPosts as the scorer builds them, in JavaScript, not through JSON ----------

/** What zod alone would produce (the reference encodeEvent had before the fast path): bytes, or the refusal. */
function zodEncoding(value: unknown): { bytes: string } | { message: string } {
  const parsed = ScoredPostSchema.safeParse(value);
  if (!parsed.success) return { message: `refusing to produce an invalid ScoredPost: ${describeZodError(parsed.error)}` };
  return { bytes: JSON.stringify(parsed.data) };
}

function encoding(value: unknown): { bytes: string } | { message: string } {
  try {
    return { bytes: encodeEvent('ScoredPost', value as never).value.toString('utf8') };
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    return { message: error.message };
  }
}

/** A valid post as an object literal: optional keys absent, undefined or set, latencies in any order. */
const builtPost = fc
  .tuple(validPost, fc.subarray(['imageError', 'label', 'text', 'imageUrl', 'url'] as const), fc.subarray(['imageError', 'label', 'text', 'imageUrl', 'url'] as const), fc.boolean())
  .map(([post, absent, undefinedKeys, reverseLatencies]) => {
    const built: Record<string, unknown> = { ...post };
    for (const key of absent) delete built[key];
    for (const key of undefinedKeys) built[key] = undefined;
    if (reverseLatencies) built['latencies'] = Object.fromEntries(Object.entries(post.latencies).reverse());
    return built;
  });

/** Damage that only an object built in JavaScript can carry (JSON has no undefined, NaN, Infinity or -0). */
const jsJunk = fc.oneof(junk, fc.constantFrom(undefined, Number.NaN, Number.POSITIVE_INFINITY, -0, [Number.NaN, 0, 0, 0, 0, 1], { queueMs: undefined }, { queueMs: Number.POSITIVE_INFINITY }, new Float64Array([1, 0, 0, 0, 0, 0]), ['music', undefined]));

const builtAndDamaged = fc.tuple(builtPost, fc.array(fc.tuple(fc.constantFrom(...FIELDS.filter((f) => f !== '__proto__')), jsJunk), { minLength: 1, maxLength: 3 })).map(([post, edits]) => {
  const damaged: Record<string, unknown> = { ...post };
  for (const [field, value] of edits) damaged[field] = value;
  return damaged;
});

test('encodeEvent, valid ScoredPosts built in JavaScript: the same bytes as zod alone, and the fast path takes them', () => {
  let fast = 0;
  let total = 0;
  fc.assert(
    fc.property(builtPost, (post) => {
      total++;
      if (fastScoredPost(post) !== null) fast++;
      assert.deepEqual(encoding(post), zodEncoding(post));
    }),
    { numRuns: 1_000 },
  );
  assert.ok(fast > total * 0.9, `fast path took ${fast} of ${total}`);
});

test('encodeEvent, damaged ScoredPosts built in JavaScript: the same bytes or the same refusal as zod alone', () => {
  let refused = 0;
  fc.assert(
    fc.property(builtAndDamaged, (post) => {
      const expected = zodEncoding(post);
      if ('message' in expected) refused++;
      assert.deepEqual(encoding(post), expected);
    }),
    { numRuns: 3_000 },
  );
  assert.ok(refused > 1_000, `the damage should mostly break the record (${refused} refused)`);
});

test('encodeEvent of what the scorer builds: a text-only and an image post take the fast path, and decode back equal', () => {
  const base = { postId: 'p1', topics: ['music'], timestamp: 1_700_000_000_000, probabilities: [0.5, 0.1, 0.1, 0.1, 0.1, 0.1], topEmotion: 'happy', modality: 'text', explicit: null, imageError: null, label: null, modelVersion: 'ds-1', latencies: { queueMs: 1, fetchMs: 0, decodeMs: 0, backboneMs: 0, modelMs: 2.5, totalMs: 4 }, scoredAt: 1_700_000_000_100, text: 'so happy today', imageUrl: null, url: 'https://a.tumblr.com/post/1' };
  for (const post of [base, { ...base, modality: 'both', explicit: 0.01, imageUrl: 'https://64.media.tumblr.com/x.jpg' }]) {
    assert.notEqual(fastScoredPost(post), null);
    const encoded = encodeEvent('ScoredPost', post as never);
    assert.equal(encoded.value.toString('utf8'), JSON.stringify(ScoredPostSchema.parse(post)));
    assert.deepEqual(decodeEvent('ScoredPost', encoded.value, encoded.headers), { ok: true, value: ScoredPostSchema.parse(post) });
  }
});
