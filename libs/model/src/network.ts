import * as tf from '@tensorflow/tfjs';

/**
 * Multiplies a branch's vector by its presence flag (one column of the [batch, 2] presence input),
 * so a missing modality contributes exactly zero to the fusion layer instead of a learnt constant.
 */
export class ModalityGate extends tf.layers.Layer {
  static readonly className = 'ModalityGate';
  private readonly column: number;
  /**
   * 'present' (default): keep the branch where presence[column] is 1. 'notImageOnly': keep it
   * except on image-only posts (factor 1 − hasImage·(1 − hasText)), so a dedicated image read-out
   * can own those posts; text-only posts are multiplied by exactly 1.
   */
  private readonly mode: 'present' | 'notImageOnly';

  constructor(config: { column: number; mode?: 'present' | 'notImageOnly'; name?: string }) {
    super(config);
    this.column = config.column;
    this.mode = config.mode ?? 'present';
  }

  override computeOutputShape(inputShape: tf.Shape[]): tf.Shape {
    return inputShape[0]!;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [branch, presence] = inputs as tf.Tensor[];
      if (this.mode === 'notImageOnly') {
        const hasText = presence!.slice([0, 0], [-1, 1]);
        const hasImage = presence!.slice([0, 1], [-1, 1]);
        return branch!.mul(tf.sub(1, hasImage.mul(tf.sub(1, hasText))));
      }
      const flag = presence!.slice([0, this.column], [-1, 1]);
      return branch!.mul(flag);
    });
  }

  override computeMask(): tf.Tensor {
    // The gated vector is per-post, not per-timestep: no mask flows on.
    return null as unknown as tf.Tensor;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), column: this.column, ...(this.mode === 'present' ? {} : { mode: this.mode }) };
  }
}
tf.serialization.registerClass(ModalityGate);

export interface NetworkConfig {
  /** Word-vector dimension (GloVe 100). */
  embeddingDim: number;
  lstmUnits: number;
  bidirectional: boolean;
  /** Unigram+bigram feature count of the bag-of-words side input (0 = no side input). */
  bowSize: number;
  bowUnits: number;
  imageFeatureDim: number;
  imageUnits: number;
  fusionUnits: number;
  dropout: number;
  /** Dropout on the bag-of-words input (feature dropout: the n-gram branch overfits fastest). */
  bowDropout: number;
  /** Dropout on the text vector (LSTM state + n-gram projection) before fusion. */
  textDropout: number;
  classes: number;
  seed: number;
  /**
   * A linear image → logits read-out beside the fusion head, gated by hasImage (zero-initialised, so a
   * network that gains it scores as before until it is trained). Added by the image fine-tune phase.
   */
  imageSkipHead?: boolean;
  /** Image-only posts are scored by that read-out alone: the fusion logits are gated off for them (implies imageSkipHead). */
  imageOnlyReadout?: boolean;
}

/** Names of the layers the optional heads add: the rest of the graph is the same with or without them. */
export const IMAGE_SKIP_LAYER = 'image_skip_logits';
export const IMAGE_ONLY_LAYER = 'logits_image_only_readout';

/**
 * Deep Sentiment fusion network.
 * Inputs:  embedded [batch, T, embeddingDim] float32 (pre-padded with zero rows, which are masked),
 *          bow [batch, bowSize] float32, image [batch, imageFeatureDim] float32,
 *          presence [batch, 2] float32 (hasText, hasImage).
 * Output:  logits [batch, classes] (softmax with the calibrated temperature is applied outside).
 */
export function buildNetwork(c: NetworkConfig): tf.LayersModel {
  const embedded = tf.input({ shape: [null, c.embeddingDim], name: 'embedded' });
  const presence = tf.input({ shape: [2], name: 'presence' });
  const image = tf.input({ shape: [c.imageFeatureDim], name: 'image' });
  let seed = c.seed;
  const init = () => tf.initializers.glorotUniform({ seed: seed++ });

  const masked = tf.layers.masking({ maskValue: 0, name: 'pad_mask' }).apply(embedded);
  const lstmConfig = { units: c.lstmUnits, kernelInitializer: init(), recurrentInitializer: tf.initializers.orthogonal({ seed: seed++ }) };
  const sequence = c.bidirectional
    ? tf.layers.bidirectional({ layer: tf.layers.lstm(lstmConfig) as tf.RNN, mergeMode: 'concat', name: 'text_bilstm' }).apply(masked)
    : tf.layers.lstm({ ...lstmConfig, name: 'text_lstm' }).apply(masked);
  const textParts = [sequence as tf.SymbolicTensor];
  const inputs = [embedded];
  if (c.bowSize > 0) {
    const bow = tf.input({ shape: [c.bowSize], name: 'bow' });
    inputs.push(bow);
    const bowIn = c.bowDropout > 0 ? tf.layers.dropout({ rate: c.bowDropout, seed: seed++, name: 'bow_dropout' }).apply(bow) : bow;
    textParts.push(
      tf.layers.dense({ units: c.bowUnits, activation: 'relu', kernelInitializer: init(), name: 'text_bow_dense' }).apply(bowIn) as tf.SymbolicTensor,
    );
  }
  let textVector = (textParts.length > 1 ? tf.layers.concatenate({ name: 'text_concat' }).apply(textParts) : textParts[0]!) as tf.SymbolicTensor;
  if (c.textDropout > 0) textVector = tf.layers.dropout({ rate: c.textDropout, seed: seed++, name: 'text_dropout' }).apply(textVector) as tf.SymbolicTensor;
  const textGated = new ModalityGate({ column: 0, name: 'text_gate' }).apply([textVector as tf.SymbolicTensor, presence]);

  const imageDense = tf.layers.dense({ units: c.imageUnits, activation: 'relu', kernelInitializer: init(), name: 'image_dense' }).apply(image);
  const imageGated = new ModalityGate({ column: 1, name: 'image_gate' }).apply([imageDense as tf.SymbolicTensor, presence]);

  const fused = tf.layers
    .concatenate({ name: 'fusion_concat' })
    .apply([textGated as tf.SymbolicTensor, imageGated as tf.SymbolicTensor, presence]);
  const hidden = tf.layers.dense({ units: c.fusionUnits, activation: 'relu', kernelInitializer: init(), name: 'fusion_dense' }).apply(fused);
  const dropped = tf.layers.dropout({ rate: c.dropout, seed: seed++, name: 'fusion_dropout' }).apply(hidden);
  const logits = tf.layers.dense({ units: c.classes, kernelInitializer: init(), name: 'logits' }).apply(dropped) as tf.SymbolicTensor;
  return tf.model({ inputs: [...inputs, image, presence], outputs: withImageHeads(c, logits, image, presence), name: 'deep_sentiment' });
}

/** The optional image read-out heads on top of the fusion logits (see NetworkConfig). */
function withImageHeads(c: NetworkConfig, fusionLogits: tf.SymbolicTensor, image: tf.SymbolicTensor, presence: tf.SymbolicTensor): tf.SymbolicTensor {
  if (!c.imageSkipHead && !c.imageOnlyReadout) return fusionLogits;
  const skip = tf.layers.dense({ units: c.classes, kernelInitializer: 'zeros', biasInitializer: 'zeros', name: IMAGE_SKIP_LAYER }).apply(image) as tf.SymbolicTensor;
  const gated = new ModalityGate({ column: 1, name: 'image_skip_gate' }).apply([skip, presence]) as tf.SymbolicTensor;
  if (!c.imageOnlyReadout) return tf.layers.add({ name: 'logits_with_image_skip' }).apply([fusionLogits, gated]) as tf.SymbolicTensor;
  const fusionGated = new ModalityGate({ column: 1, mode: 'notImageOnly', name: 'fusion_not_image_only_gate' }).apply([fusionLogits, presence]) as tf.SymbolicTensor;
  return tf.layers.add({ name: IMAGE_ONLY_LAYER }).apply([fusionGated, gated]) as tf.SymbolicTensor;
}

/**
 * The same network rebuilt from `buildNetwork` with another head configuration, every layer both have
 * keeping its trained weights (copied, not shared); layers new to it start as `buildNetwork` initialises them.
 */
export function rebuildNetwork(from: tf.LayersModel, c: NetworkConfig): tf.LayersModel {
  const next = buildNetwork(c);
  for (const layer of next.layers) {
    const old = from.layers.find((l) => l.name === layer.name);
    if (old !== undefined && old.weights.length > 0) layer.setWeights(old.getWeights());
  }
  return next;
}
