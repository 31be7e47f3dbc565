import * as tf from '@tensorflow/tfjs';
import type { GeneratorShape } from './generator-config';

/** Layer names: the shipped weights are stored under these, and the sampler reads them back by name. */
export const GEN_LAYERS = { image: 'gen_image', h0: 'gen_h0', c0: 'gen_c0', lstm: 'gen_lstm', out: 'gen_logits' } as const;

/**
 * The study's (6.4) conditioned language model: a word-level LSTM whose initial state (h0, c0) is
 * computed from the image features and the emotion, reading frozen word vectors and predicting the next word.
 * Inputs:  embedded [batch, T, embeddingDim] (word vectors of </s> w1 … wn, post-padded),
 *          image [batch, imageFeatureDim] (zeros without an image), condition [batch, 7] = [hasImage, one-hot emotion].
 * Output:  logits of w1 … wn </s> (see lmLogits).
 * recurrentActivation is set to sigmoid explicitly (tfjs defaults to hardSigmoid) so the plain-JS sampler computes the same cell.
 */
export function buildLanguageModel(s: GeneratorShape): LanguageModel {
  const embedded = tf.input({ shape: [null, s.embeddingDim], name: 'embedded' });
  const image = tf.input({ shape: [s.imageFeatureDim], name: 'image' });
  const condition = tf.input({ shape: [s.conditionDim], name: 'condition' });
  let seed = s.seed;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });
  const imageVec = tf.layers.dense({ units: s.imageUnits, activation: 'relu', kernelInitializer: init(), name: GEN_LAYERS.image }).apply(image) as tf.SymbolicTensor;
  const cond = tf.layers.concatenate({ name: 'gen_condition' }).apply([imageVec, condition]) as tf.SymbolicTensor;
  const h0 = tf.layers.dense({ units: s.lstmUnits, activation: 'tanh', kernelInitializer: init(), name: GEN_LAYERS.h0 }).apply(cond) as tf.SymbolicTensor;
  const c0 = tf.layers.dense({ units: s.lstmUnits, activation: 'tanh', kernelInitializer: init(), name: GEN_LAYERS.c0 }).apply(cond) as tf.SymbolicTensor;
  const lstm = tf.layers.lstm({
    units: s.lstmUnits,
    returnSequences: true,
    recurrentActivation: 'sigmoid',
    kernelInitializer: init(),
    recurrentInitializer: tf.initializers.orthogonal({ seed: seed++ }),
    name: GEN_LAYERS.lstm,
  });
  const sequence = lstm.apply(embedded, { initialState: [h0, c0] }) as tf.SymbolicTensor;
  const recurrent = tf.model({ inputs: [embedded, image, condition], outputs: sequence, name: 'post_generator' });
  // The output layer is applied to [batch·T, units] outside the graph: on a rank-3 input tfjs's dense takes a
  // broadcast batched matmul whose gradient materialises [batch, units, vocab] (20× slower per step here).
  const head = tf.layers.dense({ units: s.vocabSize, kernelInitializer: init(), name: GEN_LAYERS.out, inputShape: [s.lstmUnits] });
  head.build([null, s.lstmUnits]);
  return { recurrent, head };
}

/** The model: recurrent part (inputs → LSTM states [batch, T, units]) and the output layer (units → vocabulary logits). */
export interface LanguageModel {
  recurrent: tf.LayersModel;
  head: tf.layers.Layer;
}

/** Next-word logits [batch·T, vocab] (row b·T + t) of a batch's inputs. */
export function lmLogits(lm: LanguageModel, inputs: tf.Tensor[], training: boolean): tf.Tensor2D {
  const sequence = lm.recurrent.apply(inputs, { training }) as tf.Tensor3D;
  const [n, T, H] = sequence.shape;
  return lm.head.apply(sequence.reshape([n * T, H])) as tf.Tensor2D;
}

export function disposeLanguageModel(lm: LanguageModel): void {
  lm.recurrent.dispose();
  // The head is only ever applied to concrete tensors, so Layer.dispose() (which wants a symbolic use) refuses it.
  for (const w of lm.head.weights) w.dispose();
}

/** Every trainable weight as `layer/index` → tensor (the order each layer's getWeights() uses). */
export function namedWeights(lm: LanguageModel): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const name of Object.values(GEN_LAYERS)) {
    (name === GEN_LAYERS.out ? lm.head : lm.recurrent.getLayer(name)).getWeights().forEach((w, i) => {
      out[`${name}/${i}`] = w;
    });
  }
  return out;
}

/**
 * Masked mean next-word cross-entropy (nats per token). One-hot targets instead of a gather: the wasm
 * backend has no gradient kernel for gather (UnsortedSegmentSum).
 */
export function sequenceLoss(logits: tf.Tensor2D, targets: tf.Tensor2D, mask: tf.Tensor2D, vocabSize: number): tf.Scalar {
  return tf.tidy(() => {
    const logZ = tf.logSumExp(logits, -1);
    const picked = tf.sum(tf.mul(logits, tf.oneHot(targets.toInt().flatten(), vocabSize)), -1);
    return tf.div(tf.sum(tf.mul(tf.sub(logZ, picked), mask.flatten())), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}
