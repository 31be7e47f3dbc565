import assert from 'node:assert/strict';
import { test } from 'node:test';
import { argmaxEmotion, EMOTIONS, ScoredPostSchema, describeZodError } from '../src/index';

const base = {
  postId: '1',
  topics: ['exams'],
  timestamp: 1_700_000_000_000,
  modality: 'text',
  explicit: null,
  modelVersion: 'm',
  latencies: {},
  scoredAt: 1_700_000_000_000,
} as const;

test('argmaxEmotion picks the most probable emotion, ties going to the first in EMOTIONS order', () => {
  assert.equal(argmaxEmotion([0.1, 0.5, 0.1, 0.1, 0.1, 0.1]), 'sad');
  assert.equal(argmaxEmotion([0.05, 0.05, 0.05, 0.05, 0.05, 0.75]), 'disgusted');
  assert.equal(argmaxEmotion([0.3, 0.3, 0.1, 0.1, 0.1, 0.1]), 'happy');
  assert.equal(argmaxEmotion([0.1, 0.1, 0.3, 0.3, 0.1, 0.1]), 'angry');
  assert.equal(argmaxEmotion(EMOTIONS.map(() => 1 / 6)), 'happy');
});

test('argmaxEmotion refuses a vector that is not one probability per emotion', () => {
  assert.throws(() => argmaxEmotion([0.5, 0.5]), RangeError);
  assert.throws(() => argmaxEmotion([Number.NaN, 0, 0, 0, 0, 1]), RangeError);
});

test('a ScoredPost whose topEmotion is not the argmax of its probabilities is refused, readably', () => {
  const result = ScoredPostSchema.safeParse({ ...base, probabilities: [0.1, 0.6, 0.1, 0.1, 0.05, 0.05], topEmotion: 'happy' });
  assert.equal(result.success, false);
  assert.equal(result.success ? '' : describeZodError(result.error), "topEmotion: must be the most probable emotion 'sad' (0.6), not 'happy' (0.1)");
});

test('a tie is accepted only when topEmotion is the one argmaxEmotion picks', () => {
  const probabilities = [0.1, 0.35, 0.35, 0.1, 0.05, 0.05];
  assert.equal(ScoredPostSchema.safeParse({ ...base, probabilities, topEmotion: 'sad' }).success, true);
  const other = ScoredPostSchema.safeParse({ ...base, probabilities, topEmotion: 'angry' });
  assert.equal(other.success, false);
  assert.match(other.success ? '' : describeZodError(other.error), /must be the most probable emotion 'sad' \(0\.35\), not 'angry' \(0\.35\)/);
});
