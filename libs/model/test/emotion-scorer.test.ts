import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ScoredPostSchema, argmaxEmotion, type Post } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { EmotionScorer, emotionScore, scoredPost } from '../src/emotion-scorer';
import { DEFAULT_MODEL_DIR } from '../src/paths';

const MODEL_DIR = process.env['SCORER_MODEL_DIR'] || DEFAULT_MODEL_DIR;
let scorer: EmotionScorer;

before(async () => {
  await initBackend();
  scorer = await EmotionScorer.load({ modelDir: MODEL_DIR, images: false });
});
after(() => scorer.dispose());

const texts = ['I cannot believe I failed again', 'best day ever!!! 😂', 'wait WHAT', 'the smell made me gag', ''];

test('the model is warmed up at load (one prediction per modality), unless asked not to be', async () => {
  assert.ok(scorer.warmUpMs !== null && scorer.warmUpMs > 0, `warm-up took ${scorer.warmUpMs} ms`);
  const cold = await EmotionModel.load(MODEL_DIR, { warmUp: false });
  try {
    assert.equal(cold.warmUpMs, null);
    // The warm-up leaves nothing behind: a warm-up on a loaded model allocates no lasting tensor.
    const before = tf.memory().numTensors;
    assert.ok((await cold.warmUp()) > 0);
    assert.equal(cold.warmUpMs !== null, true);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    cold.dispose();
  }
});

test('scores are normalised, their topEmotion is the argmax, and they carry the modality and the model version', async () => {
  const scores = await scorer.score(texts.map((text) => ({ text })));
  assert.equal(scores.length, texts.length);
  for (const s of scores) {
    assert.ok(Math.abs(s.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.equal(s.topEmotion, argmaxEmotion(s.probabilities));
    assert.equal(s.modality, 'text');
    assert.equal(s.modelVersion, scorer.modelVersion);
  }
  const image = new Float32Array(scorer.featureDim).fill(0.1);
  const [onlyImage, both] = await scorer.score([{ text: '', imageFeatures: image }, { text: 'wow', imageFeatures: image }]);
  assert.equal(onlyImage?.modality, 'image');
  assert.equal(both?.modality, 'both');
});

test('a ScoredPost built from a score passes the schema', async () => {
  const [score] = await scorer.score([{ text: 'so happy today' }]);
  const post: Post = {
    id: 'p1', blog: 'b', url: 'https://b.tumblr.com/post/p1', timestamp: 1, topics: ['t'], tags: [], text: 'so happy today',
    imageUrl: null, noteCount: 0, source: 'live', label: null, ingestedAt: 2,
  } as Post;
  const parsed = ScoredPostSchema.parse(scoredPost(post, score!, { explicit: null, imageError: null, latencies: {}, scoredAt: 3 }));
  assert.equal(parsed.topEmotion, score!.topEmotion);
});

test('unusable model output is refused with MODEL_OUTPUT_INVALID, not passed on', () => {
  assert.throws(() => emotionScore({ probabilities: [Number.NaN, 0, 0, 0, 0, 0], modality: 'text' }, 'v'), { code: 'MODEL_OUTPUT_INVALID' });
  assert.deepEqual(emotionScore({ probabilities: [0.5, 0.5, 0.5, 0.5, 0, 0], modality: 'text' }, 'v').probabilities, [0.25, 0.25, 0.25, 0.25, 0, 0]);
});

test('no tensor leak over 100 scorings', async () => {
  const inputs = [{ text: 'whoa it was gross' }, { text: '', imageFeatures: new Float32Array(scorer.featureDim).fill(0.2) }];
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) await scorer.score(inputs);
  assert.equal(tf.memory().numTensors, before);
});

test('the shipped network is the one buildNetwork(config.network) describes: a folder whose stored graph differs is refused', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ds-topology-'));
  try {
    await cp(MODEL_DIR, dir, { recursive: true });
    const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(config.network.imageOnlyReadout, true, 'the shipped model declares its image-only read-out');
    delete config.network.imageOnlyReadout;
    delete config.network.imageSkipHead;
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
    await assert.rejects(EmotionModel.load(dir, { warmUp: false }), {
      code: 'MODEL_FORMAT_INVALID',
      message: /the stored network is not the one buildNetwork\(config\.network\) describes \(stored only: fusion_not_image_only_gate:ModalityGate, image_skip_gate:ModalityGate, image_skip_logits:Dense, logits_image_only_readout:Add; built only: none/,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
