import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { rowFromText } from '../src/encode';
import type { NetworkConfig } from '../src/network';
import { FusedOnnxHead } from '../src/onnx/fused-head';
import { DEFAULT_MODEL_DIR } from '../src/paths';
import { tinyRandomModel } from './helpers';

/**
 * A batch without an image goes through the text-only graph (fusedGraph's textOnly: no image branch): its posts
 * must get the logits the full graph gives them beside an image post, for every head variant that reads the image
 * (skip head, image-only read-out, several members) and for the shipped model.
 */

before(async () => {
  await initBackend({ prefer: 'wasm' });
});

const models: EmotionModel[] = [];
after(() => models.forEach((m) => m.dispose()));

const TEXTS = ['i love this storm', 'hate', '', 'so scared happy day wow', 'unknownword', 'i <pad> love storm wow day'];

/** Largest |difference| of the text posts' logits: alone (text-only graph) against beside an image post (full graph). */
async function textOnlyAgainstFull(model: EmotionModel, texts: readonly string[]): Promise<number> {
  const head = await FusedOnnxHead.open(model);
  try {
    const textRows = texts.map((text) => rowFromText(text, null));
    const image = Float32Array.from({ length: model.featureDim }, (_, k) => ((k * 7) % 13) / 4);
    const alone = await head.logits(textRows);
    const mixed = await head.logits([...textRows, rowFromText('storm', image)]);
    assert.deepEqual(mixed.hasImage, [...texts.map(() => false), true]);
    let largest = 0;
    for (let i = 0; i < texts.length * EMOTIONS.length; i++) largest = Math.max(largest, Math.abs(alone.logits[i]! - mixed.logits[i]!));
    return largest;
  } finally {
    await head.release();
  }
}

for (const [name, network] of [
  ['no image heads', {}],
  ['image skip head', { imageSkipHead: true }],
  ['image-only read-out', { imageSkipHead: true, imageOnlyReadout: true }],
  ['two members, image-only read-out', { members: 2, imageSkipHead: true, imageOnlyReadout: true }],
  ['BiLSTM(8)', { bidirectional: true, lstmUnits: 8 }],
] as const satisfies readonly (readonly [string, Partial<NetworkConfig>])[]) {
  test(`${name}: text posts get the same logits from the text-only graph as from the full one`, async () => {
    const tiny = await tinyRandomModel(800, network);
    models.push(tiny);
    const difference = await textOnlyAgainstFull(tiny, TEXTS);
    assert.ok(difference <= 1e-6, `largest logit difference ${difference}`);
  });
}

test('the shipped model: the text-only graph gives the full graph\'s logits', async () => {
  const model = await EmotionModel.load(process.env['SCORER_MODEL_DIR'] || DEFAULT_MODEL_DIR, { warmUp: false });
  models.push(model);
  const difference = await textOnlyAgainstFull(model, ['I cannot believe I failed again', 'best day ever!!! 😂 #happy', '', 'the smell made me gag :(', 'wait WHAT']);
  assert.ok(difference <= 1e-6, `largest logit difference ${difference}`);
});
