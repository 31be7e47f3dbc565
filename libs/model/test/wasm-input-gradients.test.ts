import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend';
import { depthwiseInputGradient, ensureWasmInputGradients, releaseWasmInputGradients } from '../src/explain/wasm-input-gradients';

type Pad = 'same' | 'valid' | number;
// [input size, filter size, stride, padding]: MobileNetV2's geometries (1×1 and 3×3, strides 1 and 2, 'same') and
// odd ones (valid, odd sizes, a stride larger than the filter, and a padding wider than the filter: the fallback paths).
const CASES: Array<[number, number, number, Pad]> = [[8, 3, 1, 'same'], [8, 3, 2, 'same'], [7, 3, 2, 'same'], [9, 3, 2, 'valid'], [6, 3, 1, 'valid'], [8, 1, 1, 'same'], [9, 1, 2, 'valid'], [9, 2, 3, 'same'], [10, 1, 3, 'same'], [6, 1, 1, 2], [7, 3, 2, 3]];

interface Case { x: Float32Array; xShape: number[]; f: Float32Array; fShape: number[]; dy: Float32Array; dyShape: number[] }

function makeCase(h: number, k: number, s: number, pad: Pad, depthwise: boolean): Case {
  return tf.tidy(() => {
    const x = tf.randomNormal([2, h, h, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const f = tf.randomNormal([k, k, 3, depthwise ? 1 : 5], 0, 1, 'float32', 2) as tf.Tensor4D;
    const y = depthwise ? tf.depthwiseConv2d(x, f, s, pad) : tf.conv2d(x, f, s, pad);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    return { x: x.dataSync() as Float32Array, xShape: x.shape, f: f.dataSync() as Float32Array, fShape: f.shape, dy: dy.dataSync() as Float32Array, dyShape: dy.shape };
  });
}

function inputGradient(c: Case, s: number, pad: Pad, depthwise: boolean): Float32Array {
  return tf.tidy(() => {
    const f = tf.tensor4d(c.f, c.fShape as [number, number, number, number]);
    const dy = tf.tensor(c.dy, c.dyShape);
    const conv = (x: tf.Tensor) => (depthwise ? tf.depthwiseConv2d(x as tf.Tensor4D, f, s, pad) : tf.conv2d(x as tf.Tensor4D, f, s, pad)).mul(dy).sum();
    return tf.grad(conv)(tf.tensor(c.x, c.xShape)).dataSync() as Float32Array;
  });
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

test("the wasm input gradients (turned-filter convolutions, JS fallbacks) equal the cpu backend's, depthwise and full", async () => {
  const cases = CASES.flatMap(([h, k, s, pad]) => [true, false].map((depthwise) => ({ h, k, s, pad, depthwise })));
  await tf.setBackend('cpu');
  const inputs = cases.map(({ h, k, s, pad, depthwise }) => makeCase(h, k, s, pad, depthwise));
  const reference = cases.map(({ s, pad, depthwise }, i) => inputGradient(inputs[i]!, s, pad, depthwise));
  await initBackend({ prefer: 'wasm' });
  ensureWasmInputGradients();
  try {
    for (const [i, { h, k, s, pad, depthwise }] of cases.entries()) {
      const label = `${depthwise ? 'depthwise' : 'conv'} ${h}×${h}, ${k}×${k}, stride ${s}, ${pad}`;
      // Twice: the second call reuses the cached turned filter.
      for (let round = 0; round < 2; round++) assert.ok(maxDiff(inputGradient(inputs[i]!, s, pad, depthwise), reference[i]!) < 1e-4, label);
      if (depthwise) {
        const c = inputs[i]!;
        const js = depthwiseInputGradient(c.dy, c.dyShape, c.f, c.fShape, { strides: s, pad, inputShape: c.xShape as [number, number, number, number] });
        assert.ok(maxDiff(js, reference[i]!) < 1e-4, `plain JS ${label}`);
      }
    }
  } finally {
    releaseWasmInputGradients();
  }
});

test("the wasm Relu6 gradient (one pass) equals the cpu backend's: dy where 0 < x ≤ 6, including x = 0 and x = 6", async () => {
  const x = [-2, 0, 0.5, 3, 6, 6.5, 100, -0.1];
  const dy = [1, 2, 3, 4, 5, 6, 7, 8];
  const gradient = () => tf.tidy(() => Array.from(tf.grad((v: tf.Tensor) => tf.relu6(v).mul(tf.tensor1d(dy)).sum())(tf.tensor1d(x)).dataSync()));
  await tf.setBackend('cpu');
  const reference = gradient();
  assert.deepEqual(reference, [0, 0, 3, 4, 5, 0, 0, 0]);
  await initBackend({ prefer: 'wasm' });
  ensureWasmInputGradients();
  assert.deepEqual(gradient(), reference);
});
