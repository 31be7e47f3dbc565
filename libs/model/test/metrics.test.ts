import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMOTION_COUNT } from '@moodstream/events';
import { evaluate } from '../src/metrics';
import { fitTemperature, softmaxRow } from '../src/calibration';
import { gaussian, makeRng } from '../src/train/rng';

const K = EMOTION_COUNT;

test('accuracy, macro-F1, per-class scores and confusion from known predictions', () => {
  const onehot = (c: number) => Array.from({ length: K }, (_, i) => (i === c ? 0.9 : 0.02));
  const labels = [0, 0, 0, 1, 1, 2];
  const predicted = [0, 0, 1, 1, 1, 0];
  const e = evaluate(predicted.map(onehot), labels);
  assert.equal(e.n, 6);
  assert.equal(e.accuracy, 4 / 6);
  assert.deepEqual(e.confusion[0], [2, 1, 0, 0, 0, 0]);
  assert.deepEqual(e.confusion[2], [1, 0, 0, 0, 0, 0]);
  // happy P 2/3 R 2/3; sad P 2/3 R 1; angry 0; absent classes are left out of the macro average.
  assert.ok(Math.abs(e.perClass[1]!.f1 - 0.8) < 1e-9);
  assert.ok(Math.abs(e.macroF1 - (2 / 3 + 0.8 + 0) / 3) < 1e-9);
  // All confidence 0.9, accuracy 2/3: ECE is the gap.
  assert.ok(Math.abs(e.ece - (0.9 - 4 / 6)) < 1e-9);
});

test('temperature scaling recovers the temperature that generated the labels', () => {
  const rng = makeRng(3);
  const n = 4000;
  const trueT = 2.5;
  const logits = new Float32Array(n * K);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) logits[i * K + k] = 3 * gaussian(rng);
    const p = softmaxRow(logits.subarray(i * K, i * K + K), trueT);
    let u = rng();
    let y = 0;
    while (y < K - 1 && (u -= p[y]!) > 0) y++;
    labels.push(y);
  }
  const t = fitTemperature(logits, labels, K);
  assert.ok(Math.abs(t - trueT) < 0.25, `fitted T = ${t}`);
});
