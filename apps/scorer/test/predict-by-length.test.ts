import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_MODEL_DIR, EmotionModel, initBackend } from '@moodstream/model';
import { predictByLength } from '../src/inference/predict-by-length';

let model: EmotionModel;
before(async () => {
  await initBackend();
  model = await EmotionModel.load(process.env['SCORER_MODEL_DIR'] || DEFAULT_MODEL_DIR);
});
after(() => model.dispose());

test('length-sorted passes give the same predictions, in the same order, as one pass', async () => {
  const inputs = Array.from({ length: 70 }, (_, i) => ({
    text: Array.from({ length: 1 + ((i * 17) % 45) }, (_, k) => ['storm', 'happy', 'so', 'scared', 'tonight', 'love'][(i + k) % 6]).join(' '),
    imageFeatures: null,
  }));
  const together = await model.predict(inputs);
  const sorted = await predictByLength(model, inputs);
  assert.equal(sorted.length, inputs.length);
  sorted.forEach((prediction, i) => {
    assert.equal(prediction.modality, together[i]!.modality);
    prediction.probabilities.forEach((p, k) => assert.ok(Math.abs(p - together[i]!.probabilities[k]!) < 1e-4, `row ${i} class ${k}: ${p} vs ${together[i]!.probabilities[k]}`));
  });
});

test('a batch below 64 posts goes in one pass; 64 and more in length-sorted passes of at least 32', async () => {
  const passes: number[] = [];
  const counting = { predict: async (batch: readonly { text: string }[]) => (passes.push(batch.length), batch.map((input) => input.text)) };
  const inputs = (n: number) => Array.from({ length: n }, (_, i) => ({ text: 'x'.repeat(1 + ((i * 7) % 40)), imageFeatures: null }));
  for (const n of [1, 31, 32, 63]) {
    passes.length = 0;
    assert.deepEqual(await predictByLength(counting, inputs(n)), inputs(n).map((input) => input.text));
    assert.deepEqual(passes, [n], `${n} posts`);
  }
  passes.length = 0;
  const many = inputs(100);
  assert.deepEqual(await predictByLength(counting, many), many.map((input) => input.text));
  assert.deepEqual(passes, [34, 34, 32]);
});
