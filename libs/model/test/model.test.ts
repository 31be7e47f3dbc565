import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { textTokens } from '../src/text/preprocess';
import { trainEmotionModel, type LabelledRow, type TrainOptions } from '../src/train/trainer';
import { gaussian, makeRng } from '../src/train/rng';
import { tinyVocabulary } from './helpers';

const FEATURE_DIM = 12;
/** One cue word per class; texts and image features both carry the label so the tiny net can overfit. */
const CUES = ['sunny', 'tears', 'furious', 'whoa', 'spooky', 'gross'];
const FILLER = ['the', 'day', 'was', 'really', 'so', 'and', 'then', 'it'];

function syntheticRows(n: number, seed: number): { text: LabelledRow[]; images: LabelledRow[] } {
  const rng = makeRng(seed);
  const text: LabelledRow[] = [];
  const images: LabelledRow[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % EMOTIONS.length;
    const words = Array.from({ length: 3 + Math.floor(rng() * 4) }, () => FILLER[Math.floor(rng() * FILLER.length)]!);
    words.splice(Math.floor(rng() * words.length), 0, CUES[label]!);
    text.push({ tokens: textTokens(words.join(' ')), imageFeatures: null, label });
    const f = Float32Array.from({ length: FEATURE_DIM }, () => 0.3 * gaussian(rng));
    f[label] = f[label]! + 2;
    images.push({ tokens: [], imageFeatures: f, label });
  }
  return { text, images };
}

const options: TrainOptions = {
  version: 'test-tiny',
  backboneId: 'mobilenet_v2_mid',
  featureDim: FEATURE_DIM,
  imageInputSize: 224,
  maxLen: 12,
  network: { lstmUnits: 8, bidirectional: false, bowUnits: 8, imageUnits: 8, fusionUnits: 32, dropout: 0.1, bowDropout: 0.1, textDropout: 0.1 },
  bowMinCount: 1,
  bowMaxFeatures: 200,
  epochs: 25,
  patience: 25,
  evalsPerEpoch: 2,
  swaStartEpoch: 20,
  batchSize: 16,
  learningRate: 0.01,
  classWeightPower: 0.5,
  imageRepeats: 1,
  pairRepeats: 1,
  dropTextProbability: 0.2,
  dropImageProbability: 0.2,
  seed: 42,
};

let model: EmotionModel;
let trainSeconds = 0;
const data = syntheticRows(48, 1);

before(async () => {
  await initBackend({ prefer: 'wasm' });
  const vocab = tinyVocabulary([...CUES, ...FILLER]);
  const result = await trainEmotionModel({ text: data.text, images: data.images, posts: [], dev: { text: data.text, images: data.images, fused: [] } }, vocab, options);
  model = result.model;
  trainSeconds = result.trainSeconds;
});

test('training on a tiny set overfits within seconds', async () => {
  assert.ok(trainSeconds < 60, `trained in ${trainSeconds.toFixed(1)} s`);
  const texts = await model.predict(data.text.map((r) => ({ text: r.tokens.join(' ') })));
  const correct = texts.filter((p, i) => p.probabilities.indexOf(Math.max(...p.probabilities)) === data.text[i]!.label).length;
  assert.equal(correct, data.text.length, `text rows right: ${correct}/${data.text.length}`);
  const images = await model.predict(data.images.map((r) => ({ text: '', imageFeatures: r.imageFeatures })));
  const imageCorrect = images.filter((p, i) => p.probabilities.indexOf(Math.max(...p.probabilities)) === data.images[i]!.label).length;
  assert.ok(imageCorrect >= data.images.length - 2, `image rows right: ${imageCorrect}/${data.images.length}`);
});

test('image-less, text-less and empty posts are still scored, with the modality used', async () => {
  const features = data.images[2]!.imageFeatures!;
  const out = await model.predict([
    { text: 'so furious today' },
    { text: '', imageFeatures: features },
    { text: '#happy #sad !!!', imageFeatures: features }, // nothing usable left once the label hashtags go
    { text: 'whoa', imageFeatures: features },
    { text: 'whoa', imageFeatures: new Float32Array(3) }, // wrong length: treated as no image
    { text: '' },
  ]);
  assert.deepEqual(out.map((p) => p.modality), ['text', 'image', 'image', 'both', 'text', 'text']);
  for (const p of out) {
    assert.equal(p.probabilities.length, EMOTIONS.length);
    assert.ok(Math.abs(p.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    assert.ok(p.probabilities.every((x) => Number.isFinite(x) && x >= 0));
  }
  assert.equal(out[1]!.probabilities.indexOf(Math.max(...out[1]!.probabilities)), 2);
  assert.deepEqual(out[1]!.probabilities, out[2]!.probabilities, 'a text with only label hashtags is scored like no text');
});

test('a post is scored the same whatever it is batched with (padding is masked)', async () => {
  const alone = await model.predict([{ text: 'spooky' }]);
  const batched = await model.predict([{ text: 'the day was really so and then it was spooky and the day was' }, { text: 'spooky' }]);
  alone[0]!.probabilities.forEach((p, i) => assert.ok(Math.abs(p - batched[1]!.probabilities[i]!) < 1e-5));
});

test('save then load gives identical outputs', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'moodstream-model-'));
  try {
    await model.save(dir);
    const loaded = await EmotionModel.load(dir);
    assert.equal(loaded.version, 'test-tiny');
    assert.equal(loaded.featureDim, FEATURE_DIM);
    assert.equal(loaded.backboneId, 'mobilenet_v2_mid');
    assert.equal(loaded.temperature, model.temperature);
    const inputs = [{ text: 'gross and spooky' }, { text: 'sunny day', imageFeatures: data.images[0]!.imageFeatures }, { text: '', imageFeatures: data.images[5]!.imageFeatures }];
    const [a, b] = [await model.predict(inputs), await loaded.predict(inputs)];
    assert.deepEqual(b, a);
    loaded.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('no tensor leak over 100 predictions', async () => {
  const inputs = [{ text: 'whoa it was gross' }, { text: '', imageFeatures: data.images[1]!.imageFeatures }];
  await model.predict(inputs); // warm-up may allocate once
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) await model.predict(inputs);
  assert.equal(tf.memory().numTensors, before);
});

test('the image skip head starts neutral and never touches posts without an image', async () => {
  const { withImageSkipHead } = await import('../src/train/image-finetune');
  const skip = withImageSkipHead(model);
  const inputs = [{ text: 'tears and gross' }, { text: 'sunny', imageFeatures: data.images[0]!.imageFeatures }];
  assert.deepEqual(await skip.predict(inputs), await model.predict(inputs), 'zero-initialised: identical outputs');
  const layer = skip.network.getLayer('image_skip_logits');
  const [kernel, bias] = layer.getWeights();
  layer.setWeights([tf.onesLike(kernel!), tf.onesLike(bias!).mul(5)]);
  const after = await skip.predict(inputs);
  assert.deepEqual(after[0], (await model.predict(inputs))[0], 'text-only post unchanged');
  assert.notDeepEqual(after[1]!.probabilities, (await model.predict(inputs))[1]!.probabilities, 'image post changed');
});

test('the text-prior bias applies to posts with text only; temperatures per modality', async () => {
  const biased = model.withCalibration({ temperature: 1, fittedOn: 'test', textLogitBias: [-50, 0, 0, 0, 0, 0], imageTemperature: 1, bothTemperature: 1 });
  const plain = model.withCalibration({ temperature: 1, fittedOn: 'test', textLogitBias: [0, 0, 0, 0, 0, 0], imageTemperature: 1, bothTemperature: 1 });
  const inputs = [{ text: 'sunny' }, { text: '', imageFeatures: data.images[0]!.imageFeatures }];
  const [b, p] = [await biased.predict(inputs), await plain.predict(inputs)];
  assert.ok(b[0]!.probabilities[0]! < 1e-6, 'happy suppressed for the text post');
  assert.deepEqual(b[1], p[1], 'image-only post unaffected by the text bias');
  const hotImage = model.withCalibration({ temperature: 1, fittedOn: 'test', imageTemperature: 100 });
  const flat = (await hotImage.predict(inputs))[1]!.probabilities;
  assert.ok(Math.max(...flat) - Math.min(...flat) < 0.05, 'a high image temperature flattens image-only posts');
});

test('the logistic-regression image read-out refits image posts only; text-only posts score exactly as before', async () => {
  const { withImageSkipHead } = await import('../src/train/image-finetune');
  const { fitImageReadoutHead } = await import('../src/train/image-readout-head');
  const head = withImageSkipHead(model);
  const images = data.images.slice(0, 60);
  const texts = [{ text: 'tears and gross' }, { text: 'sunny day' }, { text: 'whoa so spooky' }];
  const textBefore = await head.predict(texts);
  const imageInputs = images.map((r) => ({ text: '', imageFeatures: r.imageFeatures }));
  const imageBefore = await head.predict(imageInputs);
  const before = tf.memory().numTensors;
  const result = await fitImageReadoutHead(head, images, images.map((_, i) => `joy/${i}.jpg`), new Map([['joy/0.jpg', [1, 0, 0, 0, 0, 0]]]), { lambdas: [1, 0.01], folds: 3, steps: 60, learningRate: 0.05, softLabelWeight: 0.3 });
  assert.equal(tf.memory().numTensors, before, 'no tensors leaked');
  assert.equal(result.rows, images.length);
  assert.equal(result.rowsWithVotes, 1);
  assert.ok([1, 0.01].includes(result.lambda));
  assert.deepEqual(await head.predict(texts), textBefore, 'text-only posts unchanged');
  const imageAfter = await head.predict(imageInputs);
  assert.notDeepEqual(imageAfter.map((p) => p.probabilities), imageBefore.map((p) => p.probabilities), 'image posts re-scored');
  const acc = imageAfter.filter((p, i) => p.probabilities.indexOf(Math.max(...p.probabilities)) === images[i]!.label).length / images.length;
  assert.ok(acc > 0.9, `image accuracy on the separable fixture ${acc}`);
});

test('with the image-only read-out, image-only posts are scored by the skip head alone; text-only posts are unchanged', async () => {
  const { withImageOnlyReadout } = await import('../src/train/image-finetune');
  const owned = withImageOnlyReadout(model);
  const texts = [{ text: 'tears and gross' }, { text: 'sunny day' }];
  assert.deepEqual(await owned.predict(texts), await model.predict(texts), 'text-only unchanged');
  const image = [{ text: '', imageFeatures: data.images[2]!.imageFeatures }];
  const flat = (await owned.predict(image))[0]!.probabilities;
  assert.ok(Math.max(...flat) - Math.min(...flat) < 1e-6, 'zero skip head and no fusion logits: uniform for an image-only post');
  const both = [{ text: 'whoa', imageFeatures: data.images[3]!.imageFeatures }];
  assert.deepEqual(await owned.predict(both), await withImageOnlyReadout(model).predict(both));
  assert.notDeepEqual((await owned.predict(both))[0]!.probabilities, flat, 'image+text posts keep the fusion head');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ds-readout-'));
  try {
    await owned.save(dir);
    const loaded = await EmotionModel.load(dir);
    assert.deepEqual(await loaded.predict([...texts, ...image, ...both]), await owned.predict([...texts, ...image, ...both]), 'the gate mode survives save/load');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
