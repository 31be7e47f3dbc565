import * as tf from '@tensorflow/tfjs';
import { EMOTIONS, type Emotion } from '@moodstream/events';
import { gaussian, seededRandom } from '@moodstream/core';
import type { EmotionModel } from '../emotion-model';
import { imageOnlyLogits } from './branch-inputs';
import type { DifferentiableBackbone } from './differentiable-backbone';
import { ensureWasmInputGradients } from './wasm-input-gradients';

/** The study's (6.3) regularisers, after Yosinski et al. 2015: defaults are the study's values. */
export interface VisualiseOptions {
  emotion: Emotion;
  steps?: number;
  seed?: number;
  /** Step size of the normalised gradient ascent, in pixel units (0..1). */
  learningRate?: number;
  /** L2 decay towards mid-grey per step (λ). */
  l2Decay?: number;
  /** Gaussian blur of σ pixels every `blurEvery` steps. */
  blurSigma?: number;
  blurEvery?: number;
  /** Pixels whose (centred) colour norm is below this percentile are reset to grey each step. */
  clipPercentile?: number;
  /** Random shift of up to this many pixels in each direction before each gradient step. */
  jitter?: number;
  onStep?: (step: number, score: number) => void;
  /** The result so far every `snapshotEvery` steps (default 50), so a long run that is stopped still leaves an image. */
  onSnapshot?: (v: Visualisation) => Promise<void>;
  snapshotEvery?: number;
}

export interface Visualisation {
  emotion: Emotion;
  /** RGB bytes, size×size×3. */
  pixels: Uint8Array;
  size: number;
  /** Unnormalised scores (image-branch logits, EMOTIONS order) of the random start and of the result (its 8-bit pixels). */
  startLogits: number[];
  finalLogits: number[];
  /** Top emotion of the image branch on the result. */
  topEmotion: Emotion;
  /** Steps done (fewer than asked in a snapshot). */
  steps: number;
}

/** Mid-grey: the L2 decay and the pixel clipping pull towards it (the images are not mean-subtracted). */
const GREY = 0.5;

function gaussianKernel(sigma: number): tf.Tensor4D {
  const radius = Math.max(1, Math.ceil(2 * sigma));
  const w = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const sum = w.reduce((a, b) => a + b, 0);
  const k: number[] = [];
  // [h, w, inChannels=3, multiplier=1] for a per-channel (depthwise) blur.
  for (const a of w) for (const b of w) for (let c = 0; c < 3; c++) k.push((a * b) / (sum * sum));
  return tf.tensor4d(k, [w.length, w.length, 3, 1]);
}

/** Circular shift by (dy, dx) pixels: jitter that keeps every pixel (and is undone by the gradient's own shift). */
function roll(x: tf.Tensor4D, dy: number, dx: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const sy = ((dy % h) + h) % h;
  const sx = ((dx % w) + w) % w;
  let out = x;
  if (sy !== 0) out = tf.concat([out.slice([0, h - sy, 0, 0], [-1, sy, -1, -1]), out.slice([0, 0, 0, 0], [-1, h - sy, -1, -1])], 1);
  if (sx !== 0) out = tf.concat([out.slice([0, 0, w - sx, 0], [-1, -1, sx, -1]), out.slice([0, 0, 0, 0], [-1, -1, w - sx, -1])], 2);
  return out;
}

/**
 * Gradient ascent on an input image to maximise one emotion's unnormalised score through the image branch
 * (backbone + image read-out), with the study's regularisers: L2 decay, periodic Gaussian blur, small-norm pixel
 * clipping and random jitter. Deterministic under a seed (start noise and jitter come from seededRandom).
 */
export async function visualiseEmotion(model: EmotionModel, backbone: DifferentiableBackbone, options: VisualiseOptions): Promise<Visualisation> {
  if (tf.getBackend() === 'wasm') ensureWasmInputGradients();
  const k = EMOTIONS.indexOf(options.emotion);
  const steps = options.steps ?? 500;
  const lr = options.learningRate ?? 0.01;
  const decay = options.l2Decay ?? 0.001;
  const blurEvery = options.blurEvery ?? 10;
  const clipPercentile = options.clipPercentile ?? 10;
  const jitter = options.jitter ?? 8;
  const size = backbone.inputSize;
  const rng = seededRandom(options.seed ?? 1);
  const start = new Float32Array(size * size * 3);
  for (let i = 0; i < start.length; i++) start[i] = Math.min(1, Math.max(0, GREY + 0.1 * gaussian(rng)));

  const kernel = gaussianKernel(options.blurSigma ?? 0.5);
  let x = tf.variable(tf.tensor4d(start, [1, size, size, 3]));
  const logitsOf = (image: tf.Tensor4D) => tf.tidy(() => imageOnlyLogits(model, backbone.features(image)));
  const logitsArray = async (image: tf.Tensor4D) => {
    const logits = logitsOf(image);
    const values = Array.from(await logits.data());
    logits.dispose();
    return values;
  };
  const scoreOf = (image: tf.Tensor4D) => logitsOf(image).slice([0, k], [1, 1]).sum() as tf.Scalar;
  const grad = tf.valueAndGrad(scoreOf);
  const startLogits = await logitsArray(x);
  const resultAt = async (step: number): Promise<Visualisation> => {
    // The scores of the image as shipped (8-bit PNG), not of the float image it was rounded from.
    const bytes = tf.tidy(() => x.mul(255).round().clipByValue(0, 255).toInt());
    const pixels = Uint8Array.from(await bytes.data());
    bytes.dispose();
    const shipped = tf.tensor4d(Float32Array.from(pixels, (b) => b / 255), [1, size, size, 3]);
    const finalLogits = await logitsArray(shipped);
    shipped.dispose();
    const top = finalLogits.indexOf(Math.max(...finalLogits));
    return { emotion: options.emotion, pixels, size, startLogits, finalLogits, topEmotion: EMOTIONS[top]!, steps: step };
  };
  try {
    for (let step = 1; step <= steps; step++) {
      const dy = Math.round((rng() * 2 - 1) * jitter);
      const dx = Math.round((rng() * 2 - 1) * jitter);
      const shifted = tf.tidy(() => roll(x, dy, dx));
      const { value, grad: g } = grad(shifted);
      // A jitter of (0, 0) rolls nothing: shifted is x itself then, which the step still needs.
      if (shifted !== x) shifted.dispose();
      // The gradient is with respect to the shifted image: shift it back onto x.
      const back = tf.tidy(() => roll(g as tf.Tensor4D, -dy, -dx));
      const next = tf.tidy(() => {
        const normalised = back.div(back.square().mean().sqrt().add(1e-8));
        let y = x.add(normalised.mul(lr)) as tf.Tensor4D;
        y = y.sub(GREY).mul(1 - decay).add(GREY) as tf.Tensor4D;
        if (step % blurEvery === 0) y = tf.depthwiseConv2d(y, kernel, 1, 'same');
        return y.clipByValue(0, 1) as tf.Tensor4D;
      });
      const clipped = await clipSmallNorm(next, clipPercentile);
      x.dispose();
      x = tf.variable(clipped);
      clipped.dispose();
      next.dispose();
      back.dispose();
      g.dispose();
      options.onStep?.(step, (await value.data())[0]!);
      value.dispose();
      if (options.onSnapshot !== undefined && step < steps && step % (options.snapshotEvery ?? 50) === 0) await options.onSnapshot(await resultAt(step));
    }
    return await resultAt(steps);
  } finally {
    x.dispose();
    kernel.dispose();
  }
}

/** Resets to grey the pixels whose centred colour norm is below the given percentile (the study's small-norm clipping). */
async function clipSmallNorm(image: tf.Tensor4D, percentile: number): Promise<tf.Tensor4D> {
  if (percentile <= 0) return image.clone();
  const norms = tf.tidy(() => image.sub(GREY).square().sum(-1, true).sqrt());
  const values = Float32Array.from(await norms.data()).sort();
  const threshold = values[Math.min(values.length - 1, Math.floor((percentile / 100) * values.length))]!;
  const out = tf.tidy(() => tf.where(norms.less(threshold).tile([1, 1, 1, 3]), tf.fill(image.shape, GREY), image) as tf.Tensor4D);
  norms.dispose();
  return out;
}
