import * as tf from '@tensorflow/tfjs';
import { EMOTION_COUNT, EMOTIONS, argmaxEmotion, type Emotion } from '@moodstream/events';
import type { EmotionModel } from '../emotion-model';
import { BagOfWords } from '../text/bag-of-words';
import { textTokens } from '../text/preprocess';
import { textLogits } from './branch-inputs';
import { ensureMaskGradients } from './mask-gradients';

export interface WordContribution {
  token: string;
  /** This word's share of the top emotion's score change from the baseline input, in calibrated log-odds units. */
  contribution: number;
}

export interface TextExplanation {
  /** The emotion explained (the post's top emotion unless asked for another). */
  emotion: Emotion;
  /** One entry per token the model read (preprocessed, at most maxLen), in order. */
  words: WordContribution[];
  /** The emotion's centred score s = (z_k − mean z)/T_text of the text-only row, for the post and for the baseline input. */
  score: number;
  baselineScore: number;
  /** Σ contributions − (score − baselineScore): the Riemann error of the path integral (completeness says 0). */
  completenessGap: number;
  /** Calibrated text-only probabilities (EMOTIONS order). */
  textProbabilities: number[];
  steps: number;
}

/** Scales that stand for "no text" on the path: the network masks exact zeros as padding, so α starts just above 0. */
const BASELINE_SCALE = 1e-6;

const gramIndexes = new WeakMap<BagOfWords, Map<string, number>>();
function gramIndex(bow: BagOfWords): Map<string, number> {
  let index = gramIndexes.get(bow);
  if (!index) {
    index = new Map(bow.features.map((g, i) => [g, i]));
    gramIndexes.set(bow, index);
  }
  return index;
}

/**
 * Per-word contributions to one emotion's score through the text branch, by integrated gradients (Sundararajan et
 * al. 2017) along the straight path from the baseline input — every word vector and the n-gram vector scaled to
 * (almost) zero: the same number of words that say nothing — to the post. The score is the emotion's centred logit
 * divided by the text temperature (what the calibrated softmax compares; the prior bias is a constant and cancels).
 * A word's contribution is the attribution summed over its vector's dimensions, plus its unigram feature and half of
 * each bigram feature it is part of (a repeated n-gram is split between its occurrences). Completeness: contributions
 * sum to score − baselineScore up to the midpoint-rule error (`completenessGap`).
 */
export async function explainText(model: EmotionModel, text: string, options: { emotion?: Emotion; steps?: number } = {}): Promise<TextExplanation> {
  ensureMaskGradients();
  const steps = options.steps ?? 64;
  const tokens = textTokens(text).slice(0, model.config.preprocessing.maxLen);
  const T = Math.max(1, tokens.length);
  const dim = model.vocab.dim;
  const tText = model.temperatureFor(true, false);
  const embedding = new Float32Array(T * dim);
  tokens.forEach((t, i) => embedding.set(model.vocab.vectors.subarray(model.vocab.id(t) * dim, (model.vocab.id(t) + 1) * dim), (T - tokens.length + i) * dim));
  const bowSize = model.bow?.size ?? 0;
  const bowVector = new Float32Array(Math.max(1, bowSize));
  if (model.bow) model.bow.fill(tokens, bowVector, 0);

  // Rows: the post (α = 1), the baseline (α ≈ 0), then the path's midpoints.
  const alphas = [1, BASELINE_SCALE, ...Array.from({ length: steps }, (_, i) => (i + 0.5) / steps)];
  const n = alphas.length;
  const E = tf.tensor3d(embedding, [1, T, dim]);
  const B = tf.tensor2d(bowVector, [1, bowVector.length]);
  const a = tf.tensor1d(alphas);
  const centred = (embedded: tf.Tensor, bow: tf.Tensor) => {
    const z = textLogits(model, embedded as tf.Tensor3D, model.bow ? (bow as tf.Tensor2D) : null, tf.zeros([n, model.featureDim]), tf.tensor2d(Array.from({ length: n }, () => [1, 0])));
    return z.sub(z.mean(1, true)).div(tText);
  };
  const embeddedPath = tf.tidy(() => E.mul(a.reshape([n, 1, 1])));
  const bowPath = tf.tidy(() => B.mul(a.reshape([n, 1])));
  try {
    const scores = tf.tidy(() => centred(embeddedPath, bowPath));
    const scoreRows = (await scores.array()) as number[][];
    scores.dispose();
    const post = scoreRows[0]!;
    const emotion = options.emotion ?? argmaxEmotion(softmax(post.map((v, c) => v + model.config.calibration.textLogitBias[c]! / tText)));
    const target = EMOTIONS.indexOf(emotion);
    const textProbabilities = softmax(post.map((v, c) => v + model.config.calibration.textLogitBias[c]! / tText));
    // No words (an image-only post): nothing to attribute, and an all-padding sequence has no gradient path.
    if (tokens.length === 0) return { emotion, words: [], score: post[target]!, baselineScore: scoreRows[1]![target]!, completenessGap: 0, textProbabilities, steps };
    const [gE, gB] = tf.tidy(() => {
      // Only the path rows count towards the integral; the first two rows are read for their scores alone.
      const weights = tf.tensor1d(alphas.map((_, i) => (i < 2 ? 0 : 1 / steps)));
      const f = (embedded: tf.Tensor, bow: tf.Tensor) => centred(embedded, bow).slice([0, target], [n, 1]).reshape([n]).mul(weights).sum();
      const [ge, gb] = tf.grads(f)([embeddedPath, bowPath]);
      return [ge!.sum(0).mul(E.squeeze([0])), gb!.sum(0).mul(B.squeeze([0]))];
    });
    const perDim = (await gE!.data()) as Float32Array;
    const perGram = (await gB!.data()) as Float32Array;
    gE!.dispose();
    gB!.dispose();
    const contributions = tokens.map((_, i) => {
      let s = 0;
      const row = (T - tokens.length + i) * dim;
      for (let d = 0; d < dim; d++) s += perDim[row + d]!;
      return s;
    });
    if (model.bow) {
      const index = gramIndex(model.bow);
      const grams = BagOfWords.ngrams(tokens);
      const positions = new Map<number, number[][]>();
      grams.forEach((g, gi) => {
        const f = index.get(g);
        if (f === undefined) return;
        const words = gi < tokens.length ? [gi] : [gi - tokens.length, gi - tokens.length + 1];
        positions.set(f, [...(positions.get(f) ?? []), words]);
      });
      for (const [f, occurrences] of positions) {
        for (const words of occurrences) for (const w of words) contributions[w]! += perGram[f]! / occurrences.length / words.length;
      }
    }
    const score = post[target]!;
    const baselineScore = scoreRows[1]![target]!;
    const total = contributions.reduce((x, y) => x + y, 0);
    return {
      emotion,
      words: tokens.map((token, i) => ({ token, contribution: contributions[i]! })),
      score,
      baselineScore,
      completenessGap: total - (score - baselineScore),
      textProbabilities,
      steps,
    };
  } finally {
    tf.dispose([E, B, a, embeddedPath, bowPath]);
  }
}

export function softmax(row: readonly number[]): number[] {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((v) => v / s);
}

/** Centred log-probabilities: log p − mean(log p), the calibrated scores up to the softmax's free constant. */
export function centredLogProbabilities(probabilities: readonly number[]): number[] {
  if (probabilities.length !== EMOTION_COUNT) throw new Error(`expected ${EMOTION_COUNT} probabilities`);
  const logs = probabilities.map((p) => Math.log(Math.max(p, 1e-12)));
  const mean = logs.reduce((x, y) => x + y, 0) / logs.length;
  return logs.map((v) => v - mean);
}
