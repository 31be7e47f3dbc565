import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { buildNetwork } from '../src/network';
import { tinyRandomModel } from './helpers';

before(async () => {
  await initBackend({ prefer: 'wasm' });
});

// A saved model is loaded by a process that has usually built other networks first (the scorer's hot swap, the
// benches' baselines, training's rebuild before the image fine-tune): its weight names must not depend on that history.
test('a bidirectional model saved after other networks were built loads again, whatever was built before the load', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bilstm-names-'));
  try {
    const model = await tinyRandomModel(11, { bidirectional: true });
    buildNetwork(model.config.network).dispose();
    const rebuilt = new EmotionModel(model.config, buildNetwork(model.config.network), model.vocab, model.bow);
    rebuilt.network.setWeights(model.network.getWeights());
    await rebuilt.save(dir);
    buildNetwork(model.config.network).dispose();
    const loaded = await EmotionModel.load(dir, { warmUp: false });
    // Every weight back in the layer it came from (the word vectors are re-quantised on save, so compare the network).
    const saved = rebuilt.network.getWeights();
    const restored = loaded.network.getWeights();
    assert.equal(restored.length, saved.length);
    saved.forEach((w, i) => assert.deepEqual(Array.from(restored[i]!.dataSync()), Array.from(w.dataSync()), `weight ${i} (${w.shape.join('x')})`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
