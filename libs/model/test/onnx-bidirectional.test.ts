import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import type { EmotionModel } from '../src/emotion-model';
import { rowFromText } from '../src/encode';
import type { NetworkConfig } from '../src/network';
import { FusedOnnxHead } from '../src/onnx/fused-head';
import { largestDifference, selectNetworkRuntime } from '../src/onnx/network-runtime';
import { tinyRandomModel } from './helpers';

/**
 * A bidirectional text LSTM (tfjs `Bidirectional`, concat merge, over pre-padded, masked rows) on ONNX Runtime:
 * the converted graph must pick ONNX Runtime under 'auto' and give tfjs's calibrated probabilities within 1e-5,
 * text-only, image-only and both, for rows of every length up to past maxLen (5 in the tiny models), unknown
 * words and a masked word (`<pad>`, a zero vector) inside a row — where a wrong reading of the backward
 * direction (order, start position, padding seen) would show.
 */

before(async () => {
  await initBackend({ prefer: 'wasm' });
});

const IMAGE_DIM = 12;
const TEXTS = [
  'i love this storm so scared wow',
  'hate',
  'storm day',
  'so scared happy',
  'unknown words only',
  'i <pad> love storm',
  '',
  'happy happy storm hate wow day',
];

/** Deterministic image features in the backbone's output range. */
function features(seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: IMAGE_DIM }, () => {
    s = (s * 1_103_515_245 + 12_345) >>> 0;
    return ((s >>> 8) / 2 ** 24) * 3;
  });
}

/** Every text alone and with an image, plus image-only rows. */
function rows(): ReturnType<typeof rowFromText>[] {
  return [
    ...TEXTS.map((text) => rowFromText(text, null)),
    ...TEXTS.map((text, i) => rowFromText(text, features(i + 1))),
    ...[21, 22].map((seed) => rowFromText('', features(seed))),
  ];
}

const models: EmotionModel[] = [];
after(() => models.forEach((m) => m.dispose()));

for (const [name, network] of [
  ['BiLSTM(64)', { bidirectional: true, lstmUnits: 64 }],
  ['BiLSTM(128)', { bidirectional: true, lstmUnits: 128 }],
  ['two BiLSTM(16) members with the image-only read-out', { bidirectional: true, lstmUnits: 16, members: 2, imageSkipHead: true, imageOnlyReadout: true }],
] as const satisfies readonly (readonly [string, Partial<NetworkConfig>])[]) {
  test(`${name}: auto picks ONNX Runtime and it gives tfjs's probabilities within 1e-5`, async () => {
    const tiny = await tinyRandomModel(500, network);
    models.push(tiny);
    const selected = await selectNetworkRuntime(tiny);
    try {
      assert.equal(selected.info.runtime, 'onnx', selected.info.reason);
      const all = rows();
      const difference = await largestDifference(tiny, selected.runner, all);
      assert.ok(difference <= 1e-5, `largest probability difference ${difference}`);
      const [a, b] = [await tiny.logits(all), await selected.runner.logits(all)];
      assert.deepEqual(b.hasText, a.hasText);
      assert.deepEqual(b.hasImage, a.hasImage);
    } finally {
      await selected.release();
    }
  });
}

test('a BiLSTM row scores the same alone as in a batch of longer rows (per-row lengths in both directions)', async () => {
  const tiny = await tinyRandomModel(600, { bidirectional: true, lstmUnits: 32 });
  models.push(tiny);
  const head = await FusedOnnxHead.open(tiny);
  try {
    const all = rows();
    const batch = await head.logits(all);
    // 'storm day' (2 tokens) beside rows of 5: the reverse direction must start at its own last token.
    for (const i of [1, 2, 5]) {
      const alone = await head.logits([all[i]!]);
      for (let k = 0; k < EMOTIONS.length; k++) assert.ok(Math.abs(alone.logits[k]! - batch.logits[i * EMOTIONS.length + k]!) < 1e-5, `row ${i} class ${k}`);
    }
  } finally {
    await head.release();
  }
});
