import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { rowFromText } from '../src/encode';
import { ModelFormatError } from '../src/errors';
import { buildNetwork, MEMBERS_MEAN_LAYER } from '../src/network';
import { fineTuneImageBranch } from '../src/train/image-finetune';
import { mergeMembers } from '../src/train/merge-members';
import { tinyRandomModel } from './helpers';

const K = EMOTIONS.length;
const image = (seed: number) => Float32Array.from({ length: 12 }, (_, i) => ((i * 7 + seed * 13) % 10) / 5);
const TEXTS = ['i love this storm', 'so scared', 'wow what a day', '', 'hate hate this'];
const textRows = TEXTS.filter(Boolean).map((t) => rowFromText(t, null));
const bothRows = TEXTS.filter(Boolean).map((t, i) => rowFromText(t, image(i + 1)));
const imageRows = [1, 2, 3].map((s) => rowFromText('', image(s)));

let dir: string;
before(async () => {
  await initBackend({ prefer: 'wasm' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'merge-members-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

test('members 1 is today\'s network: the same layer names, wiring and weight shapes as without the option', () => {
  const c = { embeddingDim: 8, lstmUnits: 6, bidirectional: false, bowSize: 6, bowUnits: 5, imageFeatureDim: 12, imageUnits: 7, fusionUnits: 9, dropout: 0.5, bowDropout: 0.5, textDropout: 0.3, classes: K, seed: 3, imageSkipHead: true, imageOnlyReadout: true };
  const [a, b, two] = [buildNetwork(c), buildNetwork({ ...c, members: 1 }), buildNetwork({ ...c, members: 2 })];
  assert.deepEqual(JSON.stringify(b.toJSON(undefined, false)), JSON.stringify(a.toJSON(undefined, false)));
  assert.deepEqual(b.getWeights().map((w) => [...w.dataSync()]), a.getWeights().map((w) => [...w.dataSync()]), 'the same seeded initial weights');
  const names = two.layers.map((l) => l.name);
  for (const base of ['text_lstm', 'text_bow_dense', 'image_dense', 'fusion_dense', 'logits']) {
    assert.ok(names.includes(`${base}_m0`) && names.includes(`${base}_m1`) && !names.includes(base), base);
  }
  assert.ok(names.includes(MEMBERS_MEAN_LAYER) && names.includes('image_skip_logits'), 'one combining layer, one shared image head');
  assert.equal(two.countParams() - a.countParams(), a.countParams() - a.getLayer('image_skip_logits').countParams());
  assert.throws(() => buildNetwork({ ...c, members: 0 }), /members must be a whole number >= 1/);
  for (const n of [a, b, two]) n.dispose();
});

test('the merged network\'s logits are the mean of its members\' (temperatures folded in), image-only posts score as the first model', async () => {
  const a = await tinyRandomModel(1, { imageSkipHead: true, imageOnlyReadout: true });
  const b = await tinyRandomModel(50, { imageSkipHead: true, imageOnlyReadout: true });
  const bT = b.withCalibration({ ...b.config.calibration, temperature: 2.5 });
  for (const foldTemperatures of [false, true]) {
    const merged = mergeMembers([{ model: a, textOnly: false }, { model: bT, textOnly: false }], { version: 'merged', foldTemperatures });
    assert.equal(merged.config.network.members, 2);
    assert.equal(merged.version, 'merged');
    const [la, lb, lm] = [(await a.logits(textRows)).logits, (await b.logits(textRows)).logits, (await merged.logits(textRows)).logits];
    const [ta, tb] = foldTemperatures ? [a.config.calibration.temperature, 2.5] : [1, 1];
    const expected = la.map((x, i) => (x / ta + lb[i]! / tb) / 2);
    // Text-only rows: exactly the mean (the image head is gated off).
    close(lm, expected, 1e-5, `text rows, fold ${foldTemperatures}`);
    const imageOnly = [(await a.logits(imageRows)).logits, (await merged.logits(imageRows)).logits];
    close(imageOnly[1]!, imageOnly[0]!, 1e-6, 'image-only rows are the first model\'s read-out');
    merged.dispose();
  }
  for (const m of [a, b]) m.dispose();
});

test('a text-only member scores an image+text post from its text alone; the merged model saves and loads', async () => {
  const a = await tinyRandomModel(1);
  const b = await tinyRandomModel(50);
  const merged = mergeMembers([{ model: a, textOnly: false }, { model: b, textOnly: true }], { version: 'merged-text-only', foldTemperatures: false });
  const [la, lbText, lm] = [(await a.logits(bothRows)).logits, (await b.logits(textRows)).logits, (await merged.logits(bothRows)).logits];
  close(lm, la.map((x, i) => (x + lbText[i]!) / 2), 1e-5, 'image+text rows');
  const out = path.join(dir, 'merged');
  await merged.save(out);
  const loaded = await EmotionModel.load(out, { warmUp: false });
  assert.equal(loaded.config.network.members, 2);
  // The saved word vectors are int8: compare with the merged network reading the same vectors.
  const sameVectors = new EmotionModel(merged.config, merged.network, loaded.vocab, merged.bow);
  const all = [...textRows, ...bothRows, ...imageRows];
  assert.deepEqual([...(await loaded.logits(all)).logits], [...(await sameVectors.logits(all)).logits], 'after load');
  // The image fine-tune is one member's phase: a merged network refuses it with the reason.
  await assert.rejects(
    fineTuneImageBranch(loaded, { images: [], pairs: () => [], devImages: [], devFused: [] }, { epochs: 1, patience: 1, batchSize: 4, learningRate: 0.001, featureDropout: 0, seed: 1 }),
    (e: unknown) => e instanceof ModelFormatError && /2 members/.test(e.message),
  );
  for (const m of [a, b, merged, loaded]) m.dispose();
});

test('models that cannot share one graph are refused, naming the difference', async () => {
  const a = await tinyRandomModel(1);
  const otherGraph = await tinyRandomModel(2, { lstmUnits: 4 });
  const otherNgrams = await tinyRandomModel(3, {}, ['i', 'love', 'this', 'i love', 'storm', 'so happy']);
  const refused = (models: EmotionModel[], why: RegExp) =>
    assert.throws(() => mergeMembers(models.map((model) => ({ model, textOnly: false })), { version: 'x', foldTemperatures: false }), (e: unknown) => e instanceof ModelFormatError && why.test(e.message));
  refused([a, otherGraph], /networks differ in lstmUnits \(6 vs 4\)/);
  refused([a, otherNgrams], /n-gram lists differ \(6 vs 6 n-grams, first difference at 5\)/);
  refused([a], /at least two models/);
  const merged = mergeMembers([{ model: a, textOnly: false }, { model: a, textOnly: false }], { version: 'm', foldTemperatures: false });
  refused([merged, a], /already has 2 members/);
  for (const m of [a, otherGraph, otherNgrams, merged]) m.dispose();
});
