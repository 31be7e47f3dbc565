import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { argmaxIndex, EMOTION_COUNT, EMOTIONS } from '@moodstream/events';

const K = EMOTION_COUNT;

/** Per-column mean and scale of the features; constant columns get scale 1 so nothing divides by 0. */
export interface Standardiser {
  mean: Float32Array;
  scale: Float32Array;
}

export function fitStandardiser(features: readonly Float32Array[]): Standardiser {
  const d = features[0]?.length ?? 0;
  const mean = new Float32Array(d);
  const sq = new Float64Array(d);
  for (const f of features) for (let j = 0; j < d; j++) mean[j]! += f[j]! / features.length;
  for (const f of features) for (let j = 0; j < d; j++) sq[j]! += (f[j]! - mean[j]!) ** 2 / features.length;
  const scale = Float32Array.from(sq, (v) => (v > 1e-12 ? Math.sqrt(v) : 1));
  return { mean, scale };
}

export interface ReadoutOptions {
  /** L2 penalty λ·½‖W‖² added to the mean cross-entropy (bias unpenalised). */
  lambda: number;
  steps: number;
  learningRate: number;
}

/** A linear read-out in raw feature space: logits = x·kernel + bias (standardisation folded in). */
export interface LinearReadout {
  kernel: Float32Array; // [d, K] row-major
  bias: Float32Array; // [K]
}

/**
 * Full-batch L2-regularised multinomial logistic regression on standardised features, with a fixed
 * per-row logit offset (what the rest of the network already says about the row) and soft targets.
 * Full batch + many Adam steps: the problem is convex and small (~1,300 × 1,792), so this converges
 * to the regularised optimum instead of an early-stopped, seed-dependent point.
 * @param x [n, d] standardised features; y [n, K] target distributions; offset [n, K] fixed logits.
 */
export function fitReadoutStandardised(x: tf.Tensor2D, y: tf.Tensor2D, offset: tf.Tensor2D, o: ReadoutOptions, init?: { w: tf.Tensor2D; b: tf.Tensor1D }): { w: tf.Tensor2D; b: tf.Tensor1D } {
  const d = x.shape[1];
  const w0 = init ? init.w.clone() : tf.zeros([d, K]);
  const b0 = init ? init.b.clone() : tf.zeros([K]);
  const w = tf.variable(w0);
  const b = tf.variable(b0);
  tf.dispose([w0, b0]);
  const optimizer = tf.train.adam(o.learningRate);
  for (let step = 0; step < o.steps; step++) {
    const loss = optimizer.minimize(
      () => {
        const logits = tf.add(tf.add(tf.matMul(x, w), b), offset);
        const ce = tf.losses.softmaxCrossEntropy(y, logits);
        return tf.add(ce, tf.mul(0.5 * o.lambda, tf.sum(tf.square(w)))) as tf.Scalar;
      },
      false,
      [w, b],
    );
    loss?.dispose();
  }
  optimizer.dispose();
  const out = { w: w.clone() as tf.Tensor2D, b: b.clone() as tf.Tensor1D };
  w.dispose();
  b.dispose();
  return out;
}

/** Folds the standardisation into the weights so the read-out applies to raw backbone features. */
export function foldStandardiser(w: tf.Tensor2D, b: tf.Tensor1D, s: Standardiser): LinearReadout {
  const wv = w.dataSync();
  const bv = b.dataSync();
  const d = s.mean.length;
  const kernel = new Float32Array(d * K);
  const bias = Float32Array.from(bv);
  for (let j = 0; j < d; j++) {
    for (let c = 0; c < K; c++) {
      const v = wv[j * K + c]! / s.scale[j]!;
      kernel[j * K + c] = v;
      bias[c]! -= v * s.mean[j]!;
    }
  }
  return { kernel, bias };
}

export interface ReadoutRow {
  features: Float32Array;
  /** Target distribution over the K classes (one-hot or mixed with crowd votes). */
  target: readonly number[];
  /** Hard label, used for the accuracy that picks λ. */
  label: number;
  /** Fixed logits added before the softmax. */
  offset: readonly number[];
}

const standardise = (rows: readonly ReadoutRow[], s: Standardiser): tf.Tensor2D => {
  const d = s.mean.length;
  const buf = new Float32Array(rows.length * d);
  rows.forEach((r, i) => {
    for (let j = 0; j < d; j++) buf[i * d + j] = (r.features[j]! - s.mean[j]!) / s.scale[j]!;
  });
  return tf.tensor2d(buf, [rows.length, d]);
};
const matrix = (rows: readonly ReadoutRow[], pick: (r: ReadoutRow) => readonly number[]): tf.Tensor2D => tf.tensor2d(rows.flatMap((r) => [...pick(r)]), [rows.length, K]);

export interface CrossValidation {
  lambda: number;
  folds: number;
  grid: Array<{ lambda: number; accuracy: number }>;
  /** Out-of-fold logits [n·K] (offset included) at the chosen λ: honest material for a temperature. */
  outOfFoldLogits: Float32Array;
}

/**
 * Chooses λ by k-fold cross-validation (stratified by label, deterministic: row i of each class goes
 * to fold i mod k): each fold refits the standardiser on its own training part and walks the λ grid
 * from strongest to weakest, warm-starting from the previous λ. Ties go to the stronger penalty.
 */
export function crossValidateLambda(rows: readonly ReadoutRow[], lambdas: readonly number[], folds: number, o: Omit<ReadoutOptions, 'lambda'>, log: (m: string) => void = () => {}): CrossValidation {
  const order = [...lambdas].sort((a, b) => b - a);
  const seen = new Map<number, number>();
  const fold = rows.map((r) => {
    const n = seen.get(r.label) ?? 0;
    seen.set(r.label, n + 1);
    return n % folds;
  });
  const correct = new Map<number, number>(order.map((l) => [l, 0]));
  const oof = new Map<number, Float32Array>(order.map((l) => [l, new Float32Array(rows.length * K)]));
  const heldIndex = (f: number) => rows.flatMap((_, i) => (fold[i] === f ? [i] : []));
  for (let f = 0; f < folds; f++) {
    const train = rows.filter((_, i) => fold[i] !== f);
    const held = rows.filter((_, i) => fold[i] === f);
    if (train.length === 0 || held.length === 0) continue;
    const s = fitStandardiser(train.map((r) => r.features));
    const [x, y, off, xh, offh] = [standardise(train, s), matrix(train, (r) => r.target), matrix(train, (r) => r.offset), standardise(held, s), matrix(held, (r) => r.offset)];
    let prev: { w: tf.Tensor2D; b: tf.Tensor1D } | undefined;
    for (const lambda of order) {
      const fit = fitReadoutStandardised(x, y, off, { ...o, lambda }, prev);
      const logits = tf.tidy(() => tf.add(tf.add(tf.matMul(xh, fit.w), fit.b), offh).dataSync());
      const at = heldIndex(f);
      at.forEach((row, i) => oof.get(lambda)!.set(logits.subarray(i * K, (i + 1) * K), row * K));
      const hits = held.reduce((n, r, i) => {
        const z = logits.subarray(i * K, (i + 1) * K);
        return n + (argmaxIndex(z) === r.label ? 1 : 0);
      }, 0);
      correct.set(lambda, correct.get(lambda)! + hits);
      if (prev) tf.dispose([prev.w, prev.b]);
      prev = fit;
    }
    if (prev) tf.dispose([prev.w, prev.b]);
    tf.dispose([x, y, off, xh, offh]);
    log(`readout CV fold ${f + 1}/${folds} done`);
  }
  const grid = order.map((lambda) => ({ lambda, accuracy: correct.get(lambda)! / rows.length }));
  const best = grid.reduce((a, g) => (g.accuracy > a.accuracy + 1e-12 ? g : a));
  return { lambda: best.lambda, folds, grid, outOfFoldLogits: oof.get(best.lambda)! };
}

/** Fits the final read-out on all rows with the chosen λ; returns weights for raw features. */
export function fitReadout(rows: readonly ReadoutRow[], o: ReadoutOptions): LinearReadout {
  const s = fitStandardiser(rows.map((r) => r.features));
  const [x, y, off] = [standardise(rows, s), matrix(rows, (r) => r.target), matrix(rows, (r) => r.offset)];
  const fit = fitReadoutStandardised(x, y, off, o);
  const out = foldStandardiser(fit.w, fit.b, s);
  tf.dispose([x, y, off, fit.w, fit.b]);
  return out;
}

/**
 * Emotion6 ground_truth.tsv crowd votes (anger, disgust, fear, joy, sadness, surprise, neutral) as a
 * distribution over our six classes (neutral dropped, renormalised), keyed by `keyword/file`.
 */
export function parseCrowdVotes(tsv: string): Map<string, number[]> {
  const columns: Array<[number, string]> = [[3, 'angry'], [4, 'disgusted'], [5, 'scared'], [6, 'happy'], [7, 'sad'], [8, 'surprised']];
  const out = new Map<string, number[]>();
  for (const line of tsv.split(/\r?\n/)) {
    const cells = line.split('\t');
    if (cells.length < 9 || cells[0]!.startsWith('[')) continue;
    const dist = new Array<number>(K).fill(0);
    for (const [col, emotion] of columns) dist[EMOTIONS.indexOf(emotion as (typeof EMOTIONS)[number])] = Number(cells[col]);
    const total = dist.reduce((a, v) => a + v, 0);
    if (!Number.isFinite(total) || total <= 0) continue;
    out.set(cells[0]!.trim(), dist.map((v) => v / total));
  }
  return out;
}

/** (1 − α)·one-hot(folder label) + α·crowd distribution; just the one-hot when no votes exist. */
export function mixTarget(label: number, votes: readonly number[] | undefined, alpha: number): number[] {
  return Array.from({ length: K }, (_, c) => (1 - (votes ? alpha : 0)) * (c === label ? 1 : 0) + (votes ? alpha * votes[c]! : 0));
}

/** Crowd votes are optional: without ground_truth.tsv the targets are the folder labels. */
export async function readCrowdVotes(file: string): Promise<Map<string, number[]>> {
  try {
    return parseCrowdVotes(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
}
