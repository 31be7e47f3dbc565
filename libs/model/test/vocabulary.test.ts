import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Vocabulary } from '../src/text/vocabulary';
import { ModelFormatError } from '../src/errors';
import { tinyVocabulary } from './helpers';

test('vocabulary binary round-trips words exactly and vectors within int8 error', () => {
  const v = tinyVocabulary(['hello', 'wörld', '😂', '<smile>'], 16);
  const back = Vocabulary.decode(v.encode());
  assert.deepEqual(back.words, v.words);
  assert.equal(back.dim, 16);
  for (let i = 0; i < v.vectors.length; i++) assert.ok(Math.abs(back.vectors[i]! - v.vectors[i]!) < 0.02, `component ${i}`);
  assert.equal(back.id('😂'), 4);
  assert.equal(back.id('missing'), 1);
  // The padding row stays exactly zero: the network masks zero rows.
  assert.deepEqual(Array.from(back.vectors.subarray(0, 16)), new Array(16).fill(0));
});

test('a corrupt vocabulary file is a clear ModelFormatError', () => {
  const bytes = tinyVocabulary(['a']).encode();
  assert.throws(() => Vocabulary.decode(bytes.subarray(0, bytes.length - 3)), ModelFormatError);
  assert.throws(() => Vocabulary.decode(Buffer.from('not a vocabulary at all')), ModelFormatError);
});
