import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { GENERATOR_FORMAT, GEN_BOUNDARY, type GeneratorShape } from '../src/generate/generator-config';
import { buildWordList, encodeText } from '../src/generate/lm-data';
import { disposeLanguageModel } from '../src/generate/lm-network';
import { PostGenerator, saveGenerator } from '../src/generate/post-generator';
import { heldOutPerplexity, trainLanguageModel, unigramPerplexity } from '../src/generate/train-language-model';
import { tinyVocabulary } from './helpers';

const TEXTS: Array<[string, number]> = [
  ['what a lovely sunny day', 0],
  ['so happy and grateful today', 0],
  ['i miss you so much', 1],
  ['this is so sad and lonely', 1],
  ['i am so angry right now', 2],
  ['stop lying to me i hate this', 2],
  ['wow i did not expect that', 3],
  ['what a surprise', 3],
  ['i am scared of the dark', 4],
  ['the storm is terrifying', 4],
  ['that smell is gross', 5],
  ['this food is disgusting', 5],
];

test('a tiny trained generator beats unigram on its texts, is deterministic under a seed and emits only vocabulary words', async () => {
  await initBackend({ prefer: 'wasm' });
  const glove = tinyVocabulary([...new Set(TEXTS.flatMap(([t]) => t.split(' ')))].sort(), 8);
  const words = buildWordList(TEXTS.map(([t]) => t), 40, glove);
  assert.deepEqual(words.slice(0, 3), ['<pad>', '<unk>', GEN_BOUNDARY]);
  const shape: GeneratorShape = { embeddingDim: 8, lstmUnits: 8, imageUnits: 4, imageFeatureDim: 6, vocabSize: words.length, conditionDim: EMOTIONS.length + 1, maxLen: 8, seed: 3 };
  const vectors = new Float32Array(words.length * 8);
  words.forEach((w, i) => vectors.set(glove.vectors.subarray(glove.id(w) * 8, (glove.id(w) + 1) * 8), i * 8));
  vectors[2 * 8] = 0.5; // the boundary needs a non-zero vector
  const index = new Map(words.map((w, i) => [w, i]));
  const examples = TEXTS.map(([t, label]) => ({ ids: encodeText(t, index, shape.maxLen), label, image: null }));
  const common = { shape, vectors, batchSize: 4, learningRate: 0.02, epochs: 8, maxSeconds: 120, seed: 5 };
  const trained = await trainLanguageModel(examples, { ...common, conditioned: true, label: 'test generator' });
  const ppl = await heldOutPerplexity(trained.model, examples, { ...common, conditioned: true });
  // Trained on these very texts, it must beat the unigram model on them.
  assert.ok(ppl.perplexity < unigramPerplexity(examples, examples, words.length), `perplexity ${ppl.perplexity}`);
  const dir = await mkdtemp(path.join(tmpdir(), 'moodstream-generator-'));
  try {
    await saveGenerator(dir, trained.model, words, vectors, { format: GENERATOR_FORMAT, version: 'test', backboneId: 'mobilenet_v2_mid', conditioned: true, shape, training: {} });
    const generator = await PostGenerator.load(dir);
    const vocabulary = new Set(words.slice(3));
    const outputs = new Set<string>();
    for (const emotion of EMOTIONS) {
      for (const seed of [1, 2, 3]) {
        const a = generator.generate({ emotion, seed, temperature: 1 });
        const b = generator.generate({ emotion, seed, temperature: 1 });
        assert.deepEqual(a, b, 'same seed, same post');
        assert.ok(a.tokens.length >= 1 && a.tokens.length <= shape.maxLen - 1);
        for (const t of a.tokens) assert.ok(vocabulary.has(t), `${t} is a vocabulary word`);
        outputs.add(a.text);
      }
    }
    assert.ok(outputs.size > 3, 'seeds and emotions give different posts');
    const withImage = generator.generate({ emotion: 'happy', seed: 1, imageFeatures: new Float32Array(6).fill(1) });
    for (const t of withImage.tokens) assert.ok(vocabulary.has(t));
    assert.throws(() => generator.generate({ emotion: 'happy', imageFeatures: new Float32Array(5) }), /image features/);
  } finally {
    disposeLanguageModel(trained.model);
    await rm(dir, { recursive: true, force: true });
  }
});
