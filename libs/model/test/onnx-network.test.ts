import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { MoodstreamError } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { EmotionScorer } from '../src/emotion-scorer';
import { rowFromText } from '../src/encode';
import { MODEL_FORMAT, type ModelConfig } from '../src/model-config';
import { buildNetwork, type NetworkConfig } from '../src/network';
import { FusedOnnxHead } from '../src/onnx/fused-head';
import { UnsupportedNetworkError, fusedGraph } from '../src/onnx/fused-graph';
import { NETWORK_AGREEMENT, largestDifference, selectNetworkRuntime } from '../src/onnx/network-runtime';
import { DEFAULT_MODEL_DIR } from '../src/paths';
import { BagOfWords } from '../src/text/bag-of-words';
import { tinyVocabulary } from './helpers';

/**
 * The fused network on ONNX Runtime (graph converted in memory from the loaded weights) against tfjs, the
 * reference: calibrated probabilities within 1e-4 on fixture texts and images, for the shipped model and for
 * every head variant buildNetwork can make.
 */

const MODEL_DIR = process.env['SCORER_MODEL_DIR'] || DEFAULT_MODEL_DIR;
let model: EmotionModel;

before(async () => {
  await initBackend({ prefer: 'wasm' });
  model = await EmotionModel.load(MODEL_DIR, { warmUp: false });
});
after(() => model.dispose());

const FIXTURE_TEXTS = [
  'I cannot believe I failed again',
  'best day ever!!! 😂 #happy',
  'wait WHAT',
  'the smell made me gag :(',
  '',
  'zxqv qwrty blorp',
  // Past maxLen (50 tokens): both runtimes keep the first 50.
  Array.from({ length: 80 }, (_, i) => ['storm', 'is', 'coming', 'and', 'i', 'am', 'so', 'scared', 'tonight'][i % 9]).join(' '),
  'love love love this song',
];

/** Deterministic features in the backbone's range (ReLU6 outputs, 0..6). */
function features(dim: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: dim }, () => {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    return ((s >>> 8) / 2 ** 24) * 3;
  });
}

/** Every fixture text without an image, with one, and image-only posts. */
function fixtureRows(featureDim: number): ReturnType<typeof rowFromText>[] {
  return [
    ...FIXTURE_TEXTS.map((text) => rowFromText(text, null)),
    ...FIXTURE_TEXTS.map((text, i) => rowFromText(text, features(featureDim, i + 1))),
    ...[11, 12, 13].map((seed) => rowFromText('', features(featureDim, seed))),
  ];
}

test('the shipped model on ONNX Runtime gives the probabilities tfjs gives, within 1e-4, with the same modalities', async () => {
  const head = await FusedOnnxHead.open(model);
  try {
    const rows = fixtureRows(model.featureDim);
    const difference = await largestDifference(model, head, rows);
    assert.ok(difference <= 1e-4, `largest probability difference ${difference}`);
    const [a, b] = [await model.logits(rows), await head.logits(rows)];
    assert.deepEqual(b.hasText, a.hasText);
    assert.deepEqual(b.hasImage, a.hasImage);
    // A row's result does not depend on its batch-mates (lengths per row, no padding leaks), as in tfjs.
    const alone = await head.logits([rows[6]!]);
    for (let k = 0; k < EMOTIONS.length; k++) assert.ok(Math.abs(alone.logits[k]! - b.logits[6 * EMOTIONS.length + k]!) < 1e-5);
  } finally {
    await head.release();
  }
});

test('EmotionScorer picks ONNX Runtime by default and scores as the tfjs scorer does; tfjs when asked', async () => {
  const onnx = await EmotionScorer.load({ modelDir: MODEL_DIR, images: false });
  const reference = await EmotionScorer.load({ modelDir: MODEL_DIR, images: false, network: { runtime: 'tfjs' } });
  try {
    assert.equal(onnx.networkRuntime.runtime, 'onnx');
    assert.match(onnx.networkRuntime.reason, /agrees with tfjs/);
    assert.equal(reference.networkRuntime.runtime, 'tfjs');
    // 40 inputs: several length-sorted passes, as the scorer's batches go.
    const inputs = Array.from({ length: 40 }, (_, i) => ({
      text: FIXTURE_TEXTS[i % FIXTURE_TEXTS.length]!,
      imageFeatures: i % 3 === 0 ? features(model.featureDim, i) : null,
    }));
    const [a, b] = [await reference.score(inputs), await onnx.score(inputs)];
    a.forEach((score, i) => {
      assert.equal(b[i]!.modality, score.modality);
      assert.equal(b[i]!.topEmotion, score.topEmotion);
      score.probabilities.forEach((p, k) => assert.ok(Math.abs(p - b[i]!.probabilities[k]!) <= NETWORK_AGREEMENT, `input ${i} class ${k}`));
    });
  } finally {
    onnx.dispose();
    reference.dispose();
  }
});

test('without onnxruntime-node the network stays on tfjs and says why; runtime onnx refuses to start instead', async () => {
  const missing = (): Promise<unknown> => Promise.reject(new Error("Cannot find package 'onnxruntime-node'"));
  const selected = await selectNetworkRuntime(model, { importModule: missing });
  assert.equal(selected.info.runtime, 'tfjs');
  assert.match(selected.info.reason, /ONNX Runtime not used: Cannot find package 'onnxruntime-node'/);
  assert.equal(selected.runner, model);
  await assert.rejects(selectNetworkRuntime(model, { runtime: 'onnx', importModule: missing }), (error: unknown) => {
    assert.ok(error instanceof MoodstreamError);
    assert.equal(error.code, 'MODEL_RUNTIME_UNAVAILABLE');
    return true;
  });
});

/** A small model of any network configuration, with random weights in every layer (the optional heads included). */
function tinyModel(network: Partial<NetworkConfig>): EmotionModel {
  const words = ['i', 'love', 'hate', 'this', 'storm', 'so', 'scared', 'happy', 'day', 'wow'];
  const vocab = tinyVocabulary(words, 8);
  const bow = new BagOfWords(['i', 'love', 'this', 'i love', 'storm', 'so scared']);
  const c: NetworkConfig = {
    embeddingDim: 8,
    lstmUnits: 6,
    bidirectional: false,
    bowSize: bow.size,
    bowUnits: 5,
    imageFeatureDim: 12,
    imageUnits: 7,
    fusionUnits: 9,
    dropout: 0.5,
    bowDropout: 0.5,
    textDropout: 0.3,
    classes: EMOTIONS.length,
    seed: 3,
    ...network,
  };
  const net = buildNetwork(c);
  let seed = 100;
  for (const layer of net.layers) layer.setWeights(layer.getWeights().map((w) => tf.randomNormal(w.shape, 0, 0.5, 'float32', seed++)));
  const config: ModelConfig = {
    format: MODEL_FORMAT,
    version: 'tiny',
    labels: [...EMOTIONS],
    backboneId: 'mobilenet_v2_mid',
    featureDim: c.imageFeatureDim,
    preprocessing: {
      maxLen: 5,
      lowercase: true,
      emotionHashtagsRemoved: [],
      emojiAsTokens: true,
      emoticonsAsTokens: true,
      image: { inputSize: 224, resize: 'shorter side to inputSize, centre crop', scale: 'RGB / 255' },
    },
    network: { ...c, imageSkipHead: c.imageSkipHead ?? false, imageOnlyReadout: c.imageOnlyReadout ?? false },
    calibration: { method: 'temperature', temperature: 1.3, fittedOn: 'test', textLogitBias: [0.1, -0.2, 0, 0.3, 0, -0.1], imageTemperature: 0.9, bothTemperature: 1.7 },
  };
  return new EmotionModel(config, net, vocab, c.bowSize > 0 ? bow : null);
}

for (const [name, network] of [
  ['no optional heads', {}],
  ['no n-gram branch', { bowSize: 0 }],
  ['image skip head', { imageSkipHead: true }],
  ['image-only read-out', { imageSkipHead: true, imageOnlyReadout: true }],
  ['two members', { members: 2 }],
  ['two members, no n-gram branch', { members: 2, bowSize: 0 }],
  ['two members, image-only read-out', { members: 2, imageSkipHead: true, imageOnlyReadout: true }],
  ['three members, image skip head', { members: 3, imageSkipHead: true }],
] as const) {
  test(`converted network agrees with tfjs: ${name}`, async () => {
    const tiny = tinyModel(network);
    const head = await FusedOnnxHead.open(tiny);
    try {
      const rows = ['i love this storm so scared wow', 'hate', 'unknown words only', '', 'so so so so so so so so happy day'].flatMap((text, i) => [
        rowFromText(text, null),
        rowFromText(text, features(12, i + 1)),
      ]);
      const difference = await largestDifference(tiny, head, rows);
      assert.ok(difference <= 1e-5, `largest probability difference ${difference}`);
    } finally {
      await head.release();
      tiny.dispose();
    }
  });
}

test('a network the converter cannot read is refused, and auto keeps it on tfjs with the reason', async () => {
  // Weights that do not fit the configuration (an LSTM of 6 units described as 7): the converter will not guess.
  const tiny = tinyModel({});
  const misdescribed = new EmotionModel({ ...tiny.config, network: { ...tiny.config.network, lstmUnits: 7 } }, tiny.network, tiny.vocab, tiny.bow);
  try {
    assert.throws(() => fusedGraph(misdescribed.network, misdescribed.config.network, misdescribed.vocab.vectors), UnsupportedNetworkError);
    const selected = await selectNetworkRuntime(misdescribed);
    assert.equal(selected.info.runtime, 'tfjs');
    assert.match(selected.info.reason, /ONNX Runtime not used: text_lstm\/\w+: \d+ values for shape/);
  } finally {
    tiny.dispose();
  }
});

test('the converted graph is a pure function of the weights: the same model gives the same bytes', () => {
  const a = fusedGraph(model.network, model.config.network, model.vocab.vectors, { metadata: { modelVersion: model.version } });
  const b = fusedGraph(model.network, model.config.network, model.vocab.vectors, { metadata: { modelVersion: model.version } });
  assert.deepEqual(Buffer.from(a), Buffer.from(b));
});
