import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { EMOTION_COUNT } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { crossValidateLambda, fitReadout, mixTarget, parseCrowdVotes, type ReadoutRow } from '../src/train/image-readout';
import { gaussian, makeRng } from '../src/train/rng';

const K = EMOTION_COUNT;
const D = 10;

/** Class c shifts feature c; features live on very different scales so standardisation matters. */
function rows(n: number, seed: number, separation: number): ReadoutRow[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = i % K;
    const f = Float32Array.from({ length: D }, (__, j) => (gaussian(rng) + (j === label ? separation : 0)) * (j + 1) * 10 + 100);
    return { features: f, label, target: mixTarget(label, undefined, 0.5), offset: new Array<number>(K).fill(0) };
  });
}

function rawLogits(readout: { kernel: Float32Array; bias: Float32Array }, f: Float32Array): number[] {
  return Array.from({ length: K }, (_, c) => readout.bias[c]! + Array.from(f).reduce((s, v, j) => s + v * readout.kernel[j * K + c]!, 0));
}
const argmax = (v: readonly number[]) => v.indexOf(Math.max(...v));

before(async () => {
  await initBackend();
});

test('the fitted read-out works on raw (unstandardised) features and separates held-out rows', () => {
  const train = rows(240, 1, 3);
  const held = rows(120, 2, 3);
  const readout = fitReadout(train, { lambda: 0.01, steps: 200, learningRate: 0.05 });
  const acc = held.filter((r) => argmax(rawLogits(readout, r.features)) === r.label).length / held.length;
  assert.ok(acc > 0.8, `held-out accuracy ${acc} (chance is 1/${K})`);
});

test('a stronger L2 penalty shrinks the weights', () => {
  const train = rows(120, 3, 3);
  const norm = (l: number) => {
    const r = fitReadout(train, { lambda: l, steps: 200, learningRate: 0.05 });
    return r.kernel.reduce((s, v) => s + v * v, 0);
  };
  assert.ok(norm(1) < norm(0.001) / 4);
});

test('the row offset is honoured: the read-out learns only what the fixed offset does not already say', () => {
  const train = rows(120, 4, 3);
  const offset = [8, 0, 0, 0, 0, 0];
  const readout = fitReadout(
    train.map((r) => ({ ...r, offset })),
    { lambda: 0.01, steps: 300, learningRate: 0.05 },
  );
  const withOffset = train.filter((r) => argmax(rawLogits(readout, r.features).map((v, c) => v + offset[c]!)) === r.label).length;
  const happyWithout = train.filter((r) => r.label === 0 && argmax(rawLogits(readout, r.features)) === 0).length;
  assert.ok(withOffset / train.length > 0.9, `with offset ${withOffset}/${train.length}`);
  assert.ok(happyWithout < train.filter((r) => r.label === 0).length / 2, 'the bias compensates the offset, so class 0 rarely wins without it');
});

test('cross-validation prefers a moderate λ over a crushing one on separable data, and leaks no tensors', () => {
  // A misleading fixed offset (+3 on a wrong class): only a weakly penalised read-out can overrule it.
  const data = rows(180, 5, 3).map((r, i) => ({ ...r, offset: Array.from({ length: K }, (_, c) => (c === (r.label + 1 + (i % (K - 1))) % K ? 3 : 0)) }));
  const before = tf.memory().numTensors;
  const cv = crossValidateLambda(data, [100, 0.01], 3, { steps: 150, learningRate: 0.05 });
  assert.equal(tf.memory().numTensors, before);
  assert.equal(cv.grid.length, 2);
  assert.equal(cv.lambda, 0.01);
  assert.ok(cv.grid.find((g) => g.lambda === 0.01)!.accuracy > cv.grid.find((g) => g.lambda === 100)!.accuracy);
});

test('crowd votes map to our class order, drop neutral and renormalise; targets mix with the folder label', () => {
  const tsv = '[image_filename]\t[valence]\t[arousal]\t[prob. anger]\t[prob. disgust]\t[prob. fear]\t[prob. joy]\t[prob. sadness]\t[prob. surprise]\t[prob. neutral]\n' + 'joy/1.jpg\t7\t5\t0.1\t0\t0\t0.5\t0\t0.2\t0.2\n' + 'bad/2.jpg\t1\t1\t0\t0\t0\t0\t0\t0\t1\n';
  const votes = parseCrowdVotes(tsv);
  assert.equal(votes.size, 1, 'all-neutral row skipped');
  const v = votes.get('joy/1.jpg')!;
  assert.deepEqual(v.map((x) => Number(x.toFixed(3))), [0.625, 0, 0.125, 0.25, 0, 0]);
  const t = mixTarget(0, v, 0.4);
  assert.ok(Math.abs(t.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  assert.ok(Math.abs(t[0]! - (0.6 + 0.4 * 0.625)) < 1e-9);
  assert.deepEqual(mixTarget(2, undefined, 0.4), [0, 0, 1, 0, 0, 0]);
});
