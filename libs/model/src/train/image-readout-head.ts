import * as tf from '@tensorflow/tfjs';
import { EMOTION_COUNT } from '@moodstream/events';
import type { EmotionModel } from '../emotion-model';
import { fitTemperature } from '../calibration';
import { crossValidateLambda, fitReadout, mixTarget, type CrossValidation, type ReadoutRow } from './image-readout';
import { logitsOf, type LabelledRow } from './trainer';

const K = EMOTION_COUNT;
const SKIP_LAYER = 'image_skip_logits';

export interface ReadoutHeadOptions {
  lambdas: readonly number[];
  folds: number;
  steps: number;
  learningRate: number;
  /** Weight of the crowd-vote distribution in the targets (0 = folder label only). */
  softLabelWeight: number;
  log?: (message: string) => void;
}

export interface ReadoutHeadResult extends Omit<CrossValidation, 'outOfFoldLogits'> {
  rows: number;
  /** Image-only temperature fitted by NLL on the out-of-fold logits (the fit rows include dev, so dev can't calibrate it). */
  imageTemperature: number;
  softLabelWeight: number;
  rowsWithVotes: number;
}

/**
 * Replaces the linear image skip head with an L2-regularised multinomial logistic regression fitted
 * full-batch on image-only rows, λ chosen by k-fold CV on those same rows. The rest of the network
 * stays frozen and its image-only logits enter as a fixed offset, so text-only rows (gated to zero
 * by the skip gate) score exactly as before. Requires `withImageSkipHead` to have been applied.
 */
export async function fitImageReadoutHead(
  model: EmotionModel,
  images: readonly LabelledRow[],
  ids: readonly string[],
  votes: ReadonlyMap<string, readonly number[]>,
  o: ReadoutHeadOptions,
): Promise<ReadoutHeadResult> {
  const log = o.log ?? (() => {});
  const skip = model.network.getLayer(SKIP_LAYER);
  const d = skip.getWeights()[0]!.shape[0]!;
  // getWeights returns the live variables (not copies): never dispose them; setWeights copies in.
  const setSkip = (kernel: tf.Tensor, bias: tf.Tensor) => {
    skip.setWeights([kernel, bias]);
    tf.dispose([kernel, bias]);
  };
  setSkip(tf.zeros([d, K]), tf.zeros([K]));
  const offsets = await logitsOf(model, images);
  let rowsWithVotes = 0;
  const rows: ReadoutRow[] = images.map((r, i) => {
    if (!r.imageFeatures) throw new Error('fitImageReadoutHead needs image rows');
    const v = votes.get(ids[i]!);
    if (v) rowsWithVotes++;
    return { features: r.imageFeatures, label: r.label, target: mixTarget(r.label, v, o.softLabelWeight), offset: Array.from(offsets.subarray(i * K, (i + 1) * K)) };
  });
  const fitOptions = { steps: o.steps, learningRate: o.learningRate };
  const cv = crossValidateLambda(rows, o.lambdas, o.folds, fitOptions, log);
  log(`readout CV (${o.folds} folds, ${rows.length} images, soft-label weight ${o.softLabelWeight}): ${cv.grid.map((g) => `λ ${g.lambda} → ${g.accuracy.toFixed(3)}`).join(', ')}; chose λ ${cv.lambda}`);
  const readout = fitReadout(rows, { ...fitOptions, lambda: cv.lambda });
  setSkip(tf.tensor2d(readout.kernel, [d, K]), tf.tensor1d(readout.bias));
  const { outOfFoldLogits, ...summary } = cv;
  const imageTemperature = fitTemperature(outOfFoldLogits, rows.map((r) => r.label), K);
  log(`image-only temperature from out-of-fold logits: ${imageTemperature.toFixed(3)}`);
  return { ...summary, rows: rows.length, softLabelWeight: o.softLabelWeight, rowsWithVotes, imageTemperature };
}
