import { test } from 'node:test';
import assert from 'node:assert/strict';
import { preprocessText, textTokens } from '../src/text/preprocess';
import { tokenize } from '../src/text/tokenize';
import { BagOfWords } from '../src/text/bag-of-words';
import { tinyVocabulary } from './helpers';

test('tokenize gives exact, pre-padded ids with unknown id 1', () => {
  const vocab = tinyVocabulary(['i', "'m", 'so', 'today', '<smile>', '😂', 'blessed']);
  // ids: <pad>=0 <unk>=1 i=2 'm=3 so=4 today=5 <smile>=6 😂=7 blessed=8
  const ids = tokenize("I'm SO #happy today :) 😂 #blessed zebra", vocab, 10);
  assert.deepEqual(Array.from(ids), [0, 0, 2, 3, 4, 5, 6, 7, 8, 1]);
});

test('tokenize truncates to the first maxLen tokens', () => {
  const vocab = tinyVocabulary(['a', 'b', 'c']);
  assert.deepEqual(Array.from(tokenize('a b c a b', vocab, 3)), [2, 3, 4]);
  assert.deepEqual(Array.from(tokenize('', vocab, 3)), [0, 0, 0]);
});

test('the six emotion hashtags are removed, other hashtags kept as words', () => {
  assert.equal(preprocessText('#Happy #SAD day #angry #surprised #scared #disgusted #blessed'), 'day blessed');
  // Only whole tags: #happyhour is a different word and stays.
  assert.equal(preprocessText('#happyhour #sadness'), 'happyhour sadness');
  assert.equal(preprocessText('so #happy!'), 'so');
});

test('HTML remnants, entities, URLs and punctuation are stripped; case folded', () => {
  assert.equal(preprocessText('<p>Fish &amp; <b>Chips</b>!!!</p> see https://t.co/x?y=1 ...'), 'fish chips see');
  assert.equal(preprocessText('caf&#233; &quot;ok&quot;'), 'café ok');
});

test('emoji and emoticons survive as tokens', () => {
  assert.deepEqual(textTokens('love it 😂😂 :) :( <3 :D ;) xD 👍🏽'), ['love', 'it', '😂', '😂', '<smile>', '<frown>', '<heart>', '<laugh>', '<wink>', '<laugh>', '👍']);
});

test('contractions split the way GloVe was tokenised', () => {
  assert.deepEqual(textTokens("Don't you're it's"), ['do', "n't", 'you', "'re", 'it', "'s"]);
});

test('bag of words keeps frequent unigrams and bigrams and L2-normalises rows', () => {
  const bow = BagOfWords.fit([['a', 'b'], ['a', 'b'], ['c']], 2, 10);
  assert.deepEqual([...bow.features].sort(), ['a', 'a b', 'b']);
  const out = new Float32Array(bow.size * 2);
  bow.fill(['a', 'b', 'z'], out, 1);
  const row = Array.from(out.subarray(bow.size));
  assert.ok(Math.abs(row.reduce((s, v) => s + v * v, 0) - 1) < 1e-6);
  assert.deepEqual(Array.from(out.subarray(0, bow.size)), [0, 0, 0]);
});
