import * as tf from '@tensorflow/tfjs';
import { ModelFormatError } from './errors';

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
  /**
   * Independently trained copies of the towers (text LSTM, n-gram dense, image dense, fusion, logits) over the
   * same inputs, their logits averaged in the graph (an ensemble with one word lookup, one n-gram featurisation
   * and one ONNX graph). Absent or 1: today's network, layer names unchanged; N > 1: member m's layers end in
   * `_m<m>`. The image heads above are shared: they sit on the combined logits (merge-members.ts).
   */
  members?: number;
}

/** Names of the layers the optional heads add: the rest of the graph is the same with or without them. */
export const IMAGE_SKIP_LAYER = 'image_skip_logits';
export const IMAGE_ONLY_LAYER = 'logits_image_only_readout';
/** The layer that combines a multi-member network's logits (members > 1 only). */
export const MEMBERS_MEAN_LAYER = 'members_mean_logits';

/**
 * Deep Sentiment fusion network.
 * Inputs:  embedded [batch, T, embeddingDim] float32 (pre-padded with zero rows, which are masked),
 *          bow [batch, bowSize] float32, image [batch, imageFeatureDim] float32,
 *          presence [batch, 2] float32 (hasText, hasImage).
 * Output:  logits [batch, classes] (softmax with the calibrated temperature is applied outside).
 * With `members` N > 1 the towers are built N times (names `<layer>_m<m>`) and their logits averaged.
 */
export function buildNetwork(c: NetworkConfig): tf.LayersModel {
  const members = c.members ?? 1;
  if (!Number.isInteger(members) || members < 1) throw new ModelFormatError(`network members must be a whole number >= 1, got ${members}`);
  const embedded = tf.input({ shape: [null, c.embeddingDim], name: 'embedded' });
  const presence = tf.input({ shape: [2], name: 'presence' });
  const image = tf.input({ shape: [c.imageFeatureDim], name: 'image' });
  const bow = c.bowSize > 0 ? tf.input({ shape: [c.bowSize], name: 'bow' }) : null;
  const seed = { next: c.seed };
  const masked = tf.layers.masking({ maskValue: 0, name: 'pad_mask' }).apply(embedded) as tf.SymbolicTensor;
  const memberLogits = Array.from({ length: members }, (_, m) => memberTowers(c, memberSuffix(m, members), { masked, bow, image, presence }, seed));
  // Members are combined by the mean of their logits: on dev as good as the log of their mean calibrated
  // probabilities or the mean of temperature-scaled logits (docs/model.md, fifth session), and one ONNX Mean node.
  // A per-member scale, when wanted, is folded into that member's logits layer (merge-members.ts), not the graph.
  const logits = members === 1 ? memberLogits[0]! : (tf.layers.average({ name: MEMBERS_MEAN_LAYER }).apply(memberLogits) as tf.SymbolicTensor);
  const inputs = [embedded, ...(bow ? [bow] : [])];
  return tf.model({ inputs: [...inputs, image, presence], outputs: withImageHeads(c, logits, image, presence), name: 'deep_sentiment' });
}

/** Suffix of member m's layer names: none for a one-member network (today's names), `_m<m>` otherwise. */
export function memberSuffix(m: number, members: number): string {
  return members === 1 ? '' : `_m${m}`;
}

/** The trainable layers one member owns, by base name (a member's layer is `<base><memberSuffix>`). */
export const MEMBER_LAYERS = ['text_lstm', 'text_bilstm', 'text_bow_dense', 'image_dense', 'fusion_dense', 'logits'] as const;

/** One member: text LSTM, n-gram dense, image dense, fusion and logits over the shared inputs. */
function memberTowers(
  c: NetworkConfig,
  sfx: string,
  x: { masked: tf.SymbolicTensor; bow: tf.SymbolicTensor | null; image: tf.SymbolicTensor; presence: tf.SymbolicTensor },
  seed: { next: number },
): tf.SymbolicTensor {
  const init = () => tf.initializers.glorotUniform({ seed: seed.next++ });
  const lstmConfig = { units: c.lstmUnits, kernelInitializer: init(), recurrentInitializer: tf.initializers.orthogonal({ seed: seed.next++ }) };
  // The wrapped LSTM is named too: unnamed, tfjs numbers it by how many LSTMs the process built before, and a saved
  // bidirectional model's weight names then stop matching the network a later load builds.
  const sequence = c.bidirectional
    ? tf.layers.bidirectional({ layer: tf.layers.lstm({ ...lstmConfig, name: `text_lstm${sfx}` }) as tf.RNN, mergeMode: 'concat', name: `text_bilstm${sfx}` }).apply(x.masked)
    : tf.layers.lstm({ ...lstmConfig, name: `text_lstm${sfx}` }).apply(x.masked);
  const textParts = [sequence as tf.SymbolicTensor];
  if (x.bow) {
    const bowIn = c.bowDropout > 0 ? tf.layers.dropout({ rate: c.bowDropout, seed: seed.next++, name: `bow_dropout${sfx}` }).apply(x.bow) : x.bow;
    textParts.push(
      tf.layers.dense({ units: c.bowUnits, activation: 'relu', kernelInitializer: init(), name: `text_bow_dense${sfx}` }).apply(bowIn) as tf.SymbolicTensor,
    );
  }
  let textVector = (textParts.length > 1 ? tf.layers.concatenate({ name: `text_concat${sfx}` }).apply(textParts) : textParts[0]!) as tf.SymbolicTensor;
  if (c.textDropout > 0) textVector = tf.layers.dropout({ rate: c.textDropout, seed: seed.next++, name: `text_dropout${sfx}` }).apply(textVector) as tf.SymbolicTensor;
  const textGated = new ModalityGate({ column: 0, name: `text_gate${sfx}` }).apply([textVector, x.presence]);

  const imageDense = tf.layers.dense({ units: c.imageUnits, activation: 'relu', kernelInitializer: init(), name: `image_dense${sfx}` }).apply(x.image);
  const imageGated = new ModalityGate({ column: 1, name: `image_gate${sfx}` }).apply([imageDense as tf.SymbolicTensor, x.presence]);

  const fused = tf.layers
    .concatenate({ name: `fusion_concat${sfx}` })
    .apply([textGated as tf.SymbolicTensor, imageGated as tf.SymbolicTensor, x.presence]);
  const hidden = tf.layers.dense({ units: c.fusionUnits, activation: 'relu', kernelInitializer: init(), name: `fusion_dense${sfx}` }).apply(fused);
  const dropped = tf.layers.dropout({ rate: c.dropout, seed: seed.next++, name: `fusion_dropout${sfx}` }).apply(hidden);
  return tf.layers.dense({ units: c.classes, kernelInitializer: init(), name: `logits${sfx}` }).apply(dropped) as tf.SymbolicTensor;
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
