import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BagOfWords } from '../src/text/bag-of-words';

/** What sparse() must give: the features among ngrams(), first occurrence, in ngrams() order (ONNX sums them in it). */
function reference(bow: BagOfWords, tokens: readonly string[]): { indices: number[]; value: number } {
  const index = new Map(bow.features.map((f, i) => [f, i]));
  const hits = new Set<number>();
  for (const gram of BagOfWords.ngrams(tokens)) {
    const i = index.get(gram);
    if (i !== undefined) hits.add(i);
  }
  return { indices: [...hits], value: hits.size === 0 ? 0 : 1 / Math.sqrt(hits.size) };
}

const FEATURES = ['so', 'i', 'love', 'i love', 'love it', 'it', 'so so', 'storm', 'the storm', 'love'];

test('sparse gives the n-grams present once each, unigrams then bigrams in first-occurrence order', () => {
  const bow = new BagOfWords(FEATURES);
  const tokens = ['i', 'love', 'it', 'so', 'so', 'i', 'love', 'the', 'storm', 'zzz'];
  const got = bow.sparse(tokens);
  // 'love' is listed twice: the last index wins, as for any Map built from the list.
  assert.deepEqual(got.indices, [1, 9, 5, 0, 7, 3, 4, 6, 8]);
  assert.equal(got.value, 1 / 3);
  assert.deepEqual(got, reference(bow, tokens));
});

test('each call starts afresh: features seen in an earlier call are found again', () => {
  const bow = new BagOfWords(FEATURES);
  for (const tokens of [['i', 'love', 'it'], ['i', 'love', 'it'], [], ['storm'], ['so', 'so', 'so']]) assert.deepEqual(bow.sparse(tokens), reference(bow, tokens));
  assert.deepEqual(bow.sparse([]), { indices: [], value: 0 });
});

test('the seen-marks survive their counter wrapping around', () => {
  const bow = new BagOfWords(FEATURES);
  // The first call marks 'storm' with stamp 1; the call after the wrap counts from 1 again.
  bow.sparse(['storm']);
  (bow as unknown as { stamp: number }).stamp = 0xfffffffe;
  for (let k = 0; k < 3; k++) assert.deepEqual(bow.sparse(['storm', 'i', 'love']), reference(bow, ['storm', 'i', 'love']));
});
