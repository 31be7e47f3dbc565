import * as tf from '@tensorflow/tfjs';
import { EMOTION_COUNT } from '@moodstream/events';
import { EmotionModel } from '../emotion-model';
import { ModelFormatError } from '../errors';
import { IMAGE_SKIP_LAYER, rebuildNetwork } from '../network';
import { evaluate } from '../metrics';
import { ProgressBar } from './progress';
import { makeRng, shuffleInPlace } from './rng';
import { logitsOf, probabilitiesOf, type LabelledRow } from './trainer';

const K = EMOTION_COUNT;

export interface ImageFineTuneOptions {
  epochs: number;
  patience: number;
  batchSize: number;
  learningRate: number;
  /** Feature dropout on the backbone vector (1,112 images are few for a 1792→128 layer). */
  featureDropout: number;
  seed: number;
  log?: (message: string) => void;
}

const SKIP_LAYER = IMAGE_SKIP_LAYER;

/**
 * Adds a linear image → logits path (gated by hasImage) beside the fusion head. Zero-initialised, so
 * the model's outputs are unchanged until it trains; rows without an image get exactly zero from it.
 * A linear read-out of the frozen backbone is what generalises best from ~1,100 labelled images.
 * The network is rebuilt by `buildNetwork` from the config that says so, never rewired by hand.
 */
export function withImageSkipHead(model: EmotionModel): EmotionModel {
  if (model.config.network.imageSkipHead || model.config.network.imageOnlyReadout) return model;
  const network = { ...model.config.network, imageSkipHead: true };
  return new EmotionModel({ ...model.config, network }, rebuildNetwork(model.network, network), model.vocab, model.bow);
}

/**
 * Lets the linear image skip head alone score image-only posts: the fusion logits are gated off for
 * posts with an image and no text (text-only and image+text posts keep them, text-only bit for bit).
 * Used with the logistic-regression read-out, whose cross-validated accuracy then is the image-only
 * accuracy — the fusion head saw the training images and would otherwise leak into that estimate.
 */
export function withImageOnlyReadout(model: EmotionModel): EmotionModel {
  if (model.config.network.imageOnlyReadout) return model;
  const network = { ...model.config.network, imageSkipHead: true, imageOnlyReadout: true };
  return new EmotionModel({ ...model.config, network }, rebuildNetwork(model.network, network), model.vocab, model.bow);
}

/**
 * Second phase: the n-gram/LSTM text branch stops improving (and starts overfitting) after about an
 * epoch, before the image branch has converged. This trains only the image Dense layer (and the
 * linear image skip head, when added), on
 * image-only and same-label paired rows, with everything else frozen — so text-only predictions
 * are unchanged bit for bit — and keeps the epoch with the best dev image+fused macro-F1.
 */
export async function fineTuneImageBranch(
  model: EmotionModel,
  sets: { images: LabelledRow[]; pairs: () => LabelledRow[]; devImages: LabelledRow[]; devFused: LabelledRow[] },
  o: ImageFineTuneOptions,
): Promise<{ bestEpoch: number; before: number; after: number; history: Array<{ epoch: number; image: number; fused: number; score: number }> }> {
  const log = o.log ?? (() => {});
  const members = model.config.network.members ?? 1;
  // Each member has its own image_dense_m<m>, and which of them to train (or all, jointly) is a choice this phase
  // was never measured for: a multi-member network gets its image side from a single-member parent (merge-members).
  if (members > 1) {
    throw new ModelFormatError(`the image fine-tune trains a one-member network; ${model.version} has ${members} members (fine-tune a member, then merge again)`);
  }
  const layers = [model.network.getLayer('image_dense'), ...model.network.layers.filter((l) => l.name === SKIP_LAYER)];
  const vars = layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
  const snapshot = () => layers.flatMap((l) => l.getWeights().map((w) => w.clone()));
  const restore = (weights: tf.Tensor[]) => {
    let i = 0;
    for (const l of layers) {
      const n = l.getWeights().length;
      l.setWeights(weights.slice(i, i + n));
      i += n;
    }
  };
  const optimizer = tf.train.adam(o.learningRate);
  const rng = makeRng(o.seed);
  const devRows = [...sets.devImages, ...sets.devFused];
  const score = async () => {
    const probs = probabilitiesOf(await logitsOf(model, devRows), 1);
    const labels = devRows.map((r) => r.label);
    const ni = sets.devImages.length;
    const image = evaluate(probs.slice(0, ni), labels.slice(0, ni));
    const fused = evaluate(probs.slice(ni), labels.slice(ni));
    return { image: image.accuracy, fused: fused.accuracy, score: evaluate(probs, labels).macroF1 };
  };
  const initial = await score();
  log(`image fine-tune start: dev image acc ${initial.image.toFixed(3)}, fused acc ${initial.fused.toFixed(3)}, image+fused F1 ${initial.score.toFixed(3)}`);
  let best = { score: initial.score, epoch: 0, weights: snapshot() };
  const history: Array<{ epoch: number; image: number; fused: number; score: number }> = [];
  const imageInputIndex = model.bow ? 2 : 1;
  const bar = new ProgressBar('image fine-tune', o.epochs);
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const rows = shuffleInPlace([...sets.images, ...sets.pairs()], rng);
      for (let s = 0; s < rows.length; s += o.batchSize) {
        const batch = rows.slice(s, s + o.batchSize);
        const { tensors } = model.encode(batch);
        const onehot = tf.oneHot(tf.tensor1d(batch.map((r) => r.label), 'int32'), K);
        const seed = Math.floor(rng() * 2 ** 31);
        const loss = optimizer.minimize(
          () => {
            const inputs = [...tensors];
            inputs[imageInputIndex] = tf.dropout(tensors[imageInputIndex]!, o.featureDropout, undefined, seed);
            const logits = model.network.apply(inputs, { training: true }) as tf.Tensor2D;
            return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
          },
          false,
          vars,
        );
        tf.dispose([loss ?? [], onehot, ...tensors]);
      }
      const now = await score();
      history.push({ epoch, ...now });
      bar.tick(1, `dev image acc ${now.image.toFixed(3)} fused acc ${now.fused.toFixed(3)} F1 ${now.score.toFixed(3)}`);
      if (now.score > best.score) {
        tf.dispose(best.weights);
        best = { score: now.score, epoch, weights: snapshot() };
      } else if (epoch - best.epoch >= o.patience) break;
    }
  } finally {
    // Early stopping leaves the bar short of its total.
    bar.stop();
  }
  restore(best.weights);
  tf.dispose(best.weights);
  optimizer.dispose();
  log(`image fine-tune: keeping epoch ${best.epoch} (dev image+fused macro-F1 ${initial.score.toFixed(3)} → ${best.score.toFixed(3)})`);
  return { bestEpoch: best.epoch, before: initial.score, after: best.score, history };
}
