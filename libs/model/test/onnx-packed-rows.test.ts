import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { rowFromText } from '../src/encode';
import type { NetworkConfig } from '../src/network';
import { FusedOnnxHead } from '../src/onnx/fused-head';
import { DEFAULT_MODEL_DIR } from '../src/paths';
import { tinyRandomModel } from './helpers';

/**
 * Several posts per LSTM row (pack-rows.ts, the reset step of fused-graph.ts): every post's logits must be the
 * ones it gets in a row of its own, for a forward and a bidirectional LSTM, several members, masked words, empty
 * texts, posts past maxLen and image rows, on tiny random models and on the shipped model. A reset that let the
 * state through would make a post depend on the one before it in its row.
 */

before(async () => {
  await initBackend({ prefer: 'wasm' });
});

const models: EmotionModel[] = [];
after(() => models.forEach((m) => m.dispose()));

const TINY_WORDS = ['i', 'love', 'hate', 'this', 'storm', 'so', 'scared', 'happy', 'day', 'wow', 'unknownword', '<pad>'];

/** 40 rows of 0–7 words (maxLen is 5 in the tiny models), some with an image. */
function tinyRows(featureDim: number): ReturnType<typeof rowFromText>[] {
  return Array.from({ length: 40 }, (_, i) => {
    const text = Array.from({ length: (i * 5) % 8 }, (_, k) => TINY_WORDS[(i * 7 + k * 3) % TINY_WORDS.length]).join(' ');
    const image = i % 6 === 0 ? Float32Array.from({ length: featureDim }, (_, k) => ((k * 31 + i) % 17) / 6) : null;
    return rowFromText(text, image);
  });
}

/** Largest |logit difference| between packed heads and one post per row, on the same rows. */
async function packedAgainstAlone(model: EmotionModel, rows: ReturnType<typeof rowFromText>[], postsPerRow: readonly number[]): Promise<number> {
  const alone = await FusedOnnxHead.open(model, { postsPerRow: 1 });
  let largest = 0;
  try {
    const reference = await alone.logits(rows);
    for (const perRow of postsPerRow) {
      const packed = await FusedOnnxHead.open(model, { postsPerRow: perRow });
      try {
        const { logits } = await packed.logits(rows);
        logits.forEach((v, i) => (largest = Math.max(largest, Math.abs(v - reference.logits[i]!))));
      } finally {
        await packed.release();
      }
    }
  } finally {
    await alone.release();
  }
  return largest;
}

for (const [name, network] of [
  ['LSTM(6)', {}],
  ['BiLSTM(8)', { bidirectional: true, lstmUnits: 8 }],
  ['two LSTM(6) members with the image-only read-out', { members: 2, imageSkipHead: true, imageOnlyReadout: true }],
] as const satisfies readonly (readonly [string, Partial<NetworkConfig>])[]) {
  test(`${name}: a post scores the same packed with others in a row as in a row of its own`, async () => {
    const tiny = await tinyRandomModel(700, network);
    models.push(tiny);
    const difference = await packedAgainstAlone(tiny, tinyRows(tiny.featureDim), [2, 3, 4, 40]);
    assert.ok(difference <= 1e-6, `largest logit difference ${difference}`);
  });
}

test('the shipped model: posts of 1–60 words packed four to a row score as they do alone', async () => {
  const model = await EmotionModel.load(process.env['SCORER_MODEL_DIR'] || DEFAULT_MODEL_DIR, { warmUp: false });
  models.push(model);
  const words = ['storm', 'again', 'so', 'tired', 'of', 'this', 'love', 'you', 'all', 'cannot', 'believe', 'it', '😂', 'zxqv'];
  const rows = Array.from({ length: 32 }, (_, i) => rowFromText(Array.from({ length: 1 + ((i * 13) % 60) }, (_, k) => words[(i + k * 5) % words.length]).join(' '), null));
  rows.push(rowFromText('', null));
  const difference = await packedAgainstAlone(model, rows, [4]);
  assert.ok(difference <= 1e-6, `largest logit difference ${difference}`);
});
