import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { softmaxRow } from '../src/calibration';
import { textTokens } from '../src/text/preprocess';
import { distilTargets, parseTeachers } from '../src/train/teacher-targets';
import { trainEmotionModel, type LabelledRow, type TrainOptions } from '../src/train/trainer';
import { tinyRandomModel, tinyVocabulary } from './helpers';

const K = EMOTIONS.length;

before(async () => {
  await initBackend({ prefer: 'wasm' });
});

test('--teachers: per-source lists joined by +, or one list for every source; malformed specs are refused', () => {
  assert.deepEqual([...parseTeachers('goemotions=a+b, carer=c')], [['goemotions', ['a', 'b']], ['carer', ['c']]]);
  assert.deepEqual([...parseTeachers('m1+m2')], [['*', ['m1', 'm2']]]);
  assert.equal(parseTeachers(undefined).size, 0);
  assert.throws(() => parseTeachers('goemotions='), /not source=DIR\+DIR/);
  assert.throws(() => parseTeachers('carer=a,carer=b'), /twice/);
});

test("a row's target mixes its one-hot label with the mean of its source's teachers' probabilities", async () => {
  const [t1, t2] = [await tinyRandomModel(1), await tinyRandomModel(40)];
  const rows: LabelledRow[] = [
    { tokens: textTokens('i love this storm'), imageFeatures: null, label: 2, source: 0 },
    { tokens: textTokens('so scared'), imageFeatures: null, label: 4, source: 0 },
    { tokens: textTokens('happy day'), imageFeatures: null, label: 0, source: 1 },
  ];
  const n = await distilTargets(rows, [[t1, t2], []], 0.7);
  assert.equal(n, 2);
  assert.equal(rows[2]!.soft, undefined, 'a source without teachers keeps its hard label');
  for (const row of rows.slice(0, 2)) {
    const [l1, l2] = [(await t1.logits([row])).logits, (await t2.logits([row])).logits];
    const [p1, p2] = [softmaxRow(l1, 1), softmaxRow(l2, 1)];
    const want = Array.from({ length: K }, (_, c) => 0.3 * (c === row.label ? 1 : 0) + 0.7 * (p1[c]! + p2[c]!) / 2);
    row.soft!.forEach((v, c) => assert.ok(Math.abs(v - want[c]!) < 1e-6, `class ${c}: ${v} vs ${want[c]}`));
    assert.ok(Math.abs(row.soft!.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  }
  await assert.rejects(distilTargets(rows, [[t1]], 1.5), /must be in \[0, 1\]/);
  t1.dispose();
  t2.dispose();
});

test('training follows the soft targets, not the labels, when rows carry them', async () => {
  // Each cue word's label is c, but its target puts all mass on c + 1: the network must learn the targets.
  const cues = ['sunny', 'tears', 'furious', 'whoa', 'spooky', 'gross'];
  const text: LabelledRow[] = Array.from({ length: 36 }, (_, i) => {
    const label = i % K;
    return { tokens: textTokens(`the ${cues[label]} day`), imageFeatures: null, label, soft: Array.from({ length: K }, (_, c) => (c === (label + 1) % K ? 1 : 0)) };
  });
  const options: TrainOptions = {
    version: 'soft', backboneId: 'mobilenet_v2_mid', featureDim: 4, imageInputSize: 224, maxLen: 8,
    network: { lstmUnits: 8, bidirectional: false, bowUnits: 8, imageUnits: 4, fusionUnits: 16, dropout: 0, bowDropout: 0, textDropout: 0 },
    bowMinCount: 1, bowMaxFeatures: 50, epochs: 15, patience: 100, batchSize: 12, learningRate: 0.02, classWeightPower: 0,
    imageRepeats: 0, pairRepeats: 0, dropTextProbability: 0, dropImageProbability: 0, seed: 5,
  };
  // Selection needs a dev split: the same texts, labelled with their targets' classes.
  const dev = text.slice(0, K).map((r) => ({ ...r, label: (r.label + 1) % K, soft: undefined }));
  const { model } = await trainEmotionModel({ text, images: [], posts: [], dev: { text: dev, images: [], fused: [] } }, tinyVocabulary([...cues, 'the', 'day']), options);
  const out = await model.predict(cues.map((w) => ({ text: `the ${w} day` })));
  out.forEach((p, label) => assert.equal(p.probabilities.indexOf(Math.max(...p.probabilities)), (label + 1) % K, `cue ${cues[label]}`));
  model.dispose();
});
