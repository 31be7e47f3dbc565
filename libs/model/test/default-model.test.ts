import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { EMOTIONS } from '@moodstream/events';
import { DEFAULT_MODEL_DIR, EmotionModel, initBackend, loadConfusion } from '../src/index';

test('the shipped default model loads from DEFAULT_MODEL_DIR, fits the size budget and scores posts', async () => {
  assert.ok(existsSync(path.join(DEFAULT_MODEL_DIR, 'config.json')), `${DEFAULT_MODEL_DIR} holds a model`);
  const bytes = readdirSync(DEFAULT_MODEL_DIR).reduce((s, f) => s + statSync(path.join(DEFAULT_MODEL_DIR, f)).size, 0);
  assert.ok(bytes <= 25 * 1024 * 1024, `model folder is ${bytes} bytes`);
  assert.ok(existsSync(path.join(DEFAULT_MODEL_DIR, 'MODEL_CARD.md')));
  await initBackend({ prefer: 'wasm' });
  const model = await EmotionModel.load(DEFAULT_MODEL_DIR);
  try {
    assert.equal(model.backboneId, 'mobilenet_v2_mid');
    assert.equal(model.featureDim, 1792);
    const out = await model.predict([
      { text: 'I love this so much, best day ever! 😂' },
      { text: 'my dog died this morning and I miss him so much' },
      { text: '' , imageFeatures: new Float32Array(1792).fill(0.1) },
    ]);
    assert.deepEqual(out.map((p) => p.modality), ['text', 'text', 'image']);
    const top = out.map((p) => EMOTIONS[p.probabilities.indexOf(Math.max(...p.probabilities))]);
    assert.equal(top[0], 'happy');
    assert.equal(top[1], 'sad');
  } finally {
    model.dispose();
  }
  const confusion = await loadConfusion(DEFAULT_MODEL_DIR);
  assert.deepEqual(confusion.labels, [...EMOTIONS]);
  assert.ok(confusion.matrix.flat().reduce((a, b) => a + b, 0) > 0);
});
