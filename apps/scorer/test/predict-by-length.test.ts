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
