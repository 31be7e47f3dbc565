import * as tf from '@tensorflow/tfjs';
import type { EmotionModel } from '../emotion-model';

/**
 * The fused network's inputs for rows that have only an image (features given as a tensor, so gradients reach
 * them): an empty, fully masked text, no n-grams, presence [0, 1]. With the image-only read-out this is the
 * image branch alone — backbone features → read-out → unnormalised scores (logits).
 */
export function imageOnlyLogits(model: EmotionModel, features: tf.Tensor2D): tf.Tensor2D {
  const n = features.shape[0];
  const inputs: tf.Tensor[] = [tf.zeros([n, 1, model.vocab.dim])];
  if (model.bow) inputs.push(tf.zeros([n, model.bow.size]));
  inputs.push(features, tf.tensor2d(Array.from({ length: n }, () => [0, 1])));
  return model.network.apply(inputs, { training: false }) as tf.Tensor2D;
}

/** The fused network's logits for text rows given as (differentiable) word vectors [n, T, dim] and n-gram vectors [n, bow]. */
export function textLogits(model: EmotionModel, embedded: tf.Tensor3D, bow: tf.Tensor2D | null, image: tf.Tensor2D, presence: tf.Tensor2D): tf.Tensor2D {
  const inputs: tf.Tensor[] = [embedded];
  if (model.bow) inputs.push(bow ?? tf.zeros([embedded.shape[0], model.bow.size]));
  inputs.push(image, presence);
  return model.network.apply(inputs, { training: false }) as tf.Tensor2D;
}
