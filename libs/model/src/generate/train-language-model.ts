import * as tf from '@tensorflow/tfjs';
import { makeRng, shuffleInPlace } from '../train/rng';
import { ProgressBar } from '../train/progress';
import { batchArrays, conditionVector, type LmExample } from './lm-data';
import { buildLanguageModel, lmLogits, sequenceLoss, type LanguageModel } from './lm-network';
import { GEN_BOUNDARY_ID, GEN_PAD_ID, GEN_UNKNOWN_ID, type GeneratorShape } from './generator-config';

export interface LmTrainOptions {
  shape: GeneratorShape;
  /** Row-major [vocabSize, embeddingDim] frozen word vectors (row i = word i of the generator's list). */
  vectors: Float32Array;
  /** false trains the baseline: the condition (image and emotion) is zeroed, so only the learnt constant initial state remains. */
  conditioned: boolean;
  batchSize: number;
  learningRate: number;
  epochs: number;
  /** Wall-clock budget: training stops after the step that passes it (the machine is shared). */
  maxSeconds: number;
  seed: number;
  /** Emotion6 training images by class: a text gets one of its class's images with probability `pairProbability` (synthetic pairs; no real ones exist here). */
  imagesByLabel?: ReadonlyArray<readonly Float32Array[]>;
  pairProbability?: number;
  label?: string;
}

export interface LmTrainResult {
  model: LanguageModel;
  steps: number;
  epochsDone: number;
  seconds: number;
  lastLoss: number;
}

/** Input tensors of one batch (caller disposes inside a tidy). */
export function batchTensors(
  batch: readonly LmExample[],
  o: Pick<LmTrainOptions, 'shape' | 'conditioned'>,
  vectorsTensor: tf.Tensor2D,
): { inputs: tf.Tensor[]; targets: tf.Tensor2D; mask: tf.Tensor2D } {
  const { T, inputs, targets, mask } = batchArrays(batch);
  const n = batch.length;
  const F = o.shape.imageFeatureDim;
  const image = new Float32Array(n * F);
  const condition = new Float32Array(n * o.shape.conditionDim);
  batch.forEach((e, i) => {
    if (o.conditioned && e.image) image.set(e.image, i * F);
    condition.set(conditionVector(e.label, e.image !== null, o.conditioned), i * o.shape.conditionDim);
  });
  const embedded = tf.gather(vectorsTensor, tf.tensor1d(inputs, 'int32')).reshape([n, T, o.shape.embeddingDim]);
  return {
    inputs: [embedded, tf.tensor2d(image, [n, F]), tf.tensor2d(condition, [n, o.shape.conditionDim])],
    targets: tf.tensor2d(targets, [n, T], 'int32'),
    mask: tf.tensor2d(mask, [n, T]),
  };
}

/** Teacher-forced training with Adam on the masked next-word cross-entropy, epoch-shuffled under a seed. */
export async function trainLanguageModel(train: readonly LmExample[], o: LmTrainOptions): Promise<LmTrainResult> {
  const model = buildLanguageModel(o.shape);
  const vectorsTensor = tf.tensor2d(o.vectors, [o.shape.vocabSize, o.shape.embeddingDim]);
  const optimizer = tf.train.adam(o.learningRate);
  const rng = makeRng(o.seed);
  const started = Date.now();
  const stepsPerEpoch = Math.ceil(train.length / o.batchSize);
  const bar = new ProgressBar(o.label ?? 'train generator', stepsPerEpoch * o.epochs, { linePercent: 5 });
  let steps = 0;
  let lastLoss = Number.NaN;
  let epochsDone = 0;
  const pairP = o.pairProbability ?? 0;
  try {
    outer: for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = shuffleInPlace(train.map((_, i) => i), rng);
      for (let s = 0; s < stepsPerEpoch; s++) {
        const batch = order.slice(s * o.batchSize, (s + 1) * o.batchSize).map((i) => {
          const e = train[i]!;
          const pool = o.imagesByLabel?.[e.label] ?? [];
          const image = e.image ?? (pool.length > 0 && rng() < pairP ? pool[Math.floor(rng() * pool.length)]! : null);
          return { ...e, image };
        });
        const loss = optimizer.minimize(() => {
          const t = batchTensors(batch, o, vectorsTensor);
          return sequenceLoss(lmLogits(model, t.inputs, true), t.targets, t.mask, o.shape.vocabSize);
        }, true) as tf.Scalar;
        lastLoss = (await loss.data())[0]!;
        loss.dispose();
        steps++;
        bar.tick(1, `loss ${lastLoss.toFixed(3)}`);
        if ((Date.now() - started) / 1000 > o.maxSeconds) break outer;
      }
      epochsDone = epoch + 1;
    }
  } finally {
    bar.stop();
    vectorsTensor.dispose();
    optimizer.dispose();
  }
  return { model, steps, epochsDone, seconds: (Date.now() - started) / 1000, lastLoss };
}

/** Held-out perplexity: exp of the mean next-word cross-entropy over every target token (end marker included). */
export async function heldOutPerplexity(
  model: LanguageModel,
  examples: readonly LmExample[],
  o: Pick<LmTrainOptions, 'shape' | 'conditioned' | 'vectors'>,
  batchSize = 128,
): Promise<{ perplexity: number; tokens: number }> {
  const vectorsTensor = tf.tensor2d(o.vectors, [o.shape.vocabSize, o.shape.embeddingDim]);
  let nll = 0;
  let tokens = 0;
  try {
    for (let s = 0; s < examples.length; s += batchSize) {
      const batch = examples.slice(s, s + batchSize);
      const out = tf.tidy(() => {
        const t = batchTensors(batch, o, vectorsTensor);
        return tf.stack([sequenceLoss(lmLogits(model, t.inputs, false), t.targets, t.mask, o.shape.vocabSize), tf.sum(t.mask)]);
      });
      const [mean, count] = await out.data();
      out.dispose();
      nll += mean! * count!;
      tokens += count!;
    }
  } finally {
    vectorsTensor.dispose();
  }
  return { perplexity: Math.exp(nll / Math.max(1, tokens)), tokens };
}

/** The unigram baseline: add-one smoothed word frequencies of the training targets (end marker included, padding never). */
export function unigramPerplexity(train: readonly LmExample[], heldOut: readonly LmExample[], vocabSize: number): number {
  const counts = new Float64Array(vocabSize).fill(1);
  counts[GEN_PAD_ID] = 0;
  const boundary = (ids: readonly number[]) => [...ids, GEN_BOUNDARY_ID];
  for (const e of train) for (const id of boundary(e.ids)) counts[id]! += 1;
  const total = counts.reduce((a, b) => a + b, 0);
  let nll = 0;
  let n = 0;
  for (const e of heldOut) {
    for (const id of boundary(e.ids)) {
      nll -= Math.log(counts[id]! / total);
      n++;
    }
  }
  return Math.exp(nll / Math.max(1, n));
}

/** Share of held-out tokens outside the word list (they count as <unk> in every perplexity above). */
export function unknownRate(examples: readonly LmExample[]): number {
  let unk = 0;
  let n = 0;
  for (const e of examples) {
    for (const id of e.ids) {
      n++;
      if (id === GEN_UNKNOWN_ID) unk++;
    }
  }
  return unk / Math.max(1, n);
}
