import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/backend';
import { ModelFormatError } from '../src/errors';
import { averageModels } from '../src/train/average-weights';
import { tinyRandomModel } from './helpers';

const inputs = [{ text: 'i love this storm' }, { text: 'so scared', imageFeatures: Float32Array.from({ length: 12 }, (_, i) => i / 12) }, { text: '', imageFeatures: new Float32Array(12).fill(0.3) }];

before(async () => {
  await initBackend({ prefer: 'wasm' });
});

test('every weight of the average is the mean of the models\' weights, and it scores like a model', async () => {
  const [a, b, c] = [await tinyRandomModel(1), await tinyRandomModel(50), await tinyRandomModel(99)];
  const avg = averageModels([a, b, c], 'tiny-avg');
  assert.equal(avg.version, 'tiny-avg');
  assert.deepEqual(avg.config.network, a.config.network);
  const [wa, wb, wc, wm] = [a, b, c, avg].map((m) => m.network.getWeights().map((w) => w.dataSync()));
  assert.equal(wm!.length, wa!.length);
  let compared = 0;
  wm!.forEach((w, i) =>
    w.forEach((v, j) => {
      assert.ok(Math.abs(v - (wa![i]![j]! + wb![i]![j]! + wc![i]![j]!) / 3) < 1e-6, `weight ${i}[${j}]`);
      compared++;
    }),
  );
  assert.equal(compared, avg.network.countParams());
  const [pa, pm] = [await a.predict(inputs), await avg.predict(inputs)];
  assert.notDeepEqual(pm.map((p) => p.probabilities), pa.map((p) => p.probabilities), 'the average is another network');
  for (const p of pm) assert.ok(Math.abs(p.probabilities.reduce((s, x) => s + x, 0) - 1) < 1e-5);
  assert.deepEqual(pm.map((p) => p.modality), ['text', 'both', 'image']);
  for (const m of [a, b, c, avg]) m.dispose();
});

test('a model averaged with itself scores exactly as it does', async () => {
  const a = await tinyRandomModel(7);
  const avg = averageModels([a, a], 'same');
  const [pa, pm] = [await a.predict(inputs), await avg.predict(inputs)];
  pa.forEach((p, i) => p.probabilities.forEach((x, c) => assert.ok(Math.abs(x - pm[i]!.probabilities[c]!) < 1e-6)));
  a.dispose();
  avg.dispose();
});

test('models of different graphs, n-gram lists or a single model are refused', async () => {
  const a = await tinyRandomModel(1);
  const otherGraph = await tinyRandomModel(2, { lstmUnits: 4 });
  const otherNgrams = await tinyRandomModel(3, {}, ['i', 'love', 'this', 'i love', 'storm', 'so happy']);
  const refused = (models: Parameters<typeof averageModels>[0], why: RegExp) =>
    assert.throws(() => averageModels(models, 'x'), (e: unknown) => e instanceof ModelFormatError && why.test(e.message));
  refused([a, otherGraph], /network configs differ/);
  refused([a, otherNgrams], /n-gram lists differ/);
  refused([a], /at least two models/);
  for (const m of [a, otherGraph, otherNgrams]) m.dispose();
});
