import * as tf from '@tensorflow/tfjs';
import { MoodstreamError } from '@moodstream/core';
import { nsfwModelHandler } from './nsfw-shards';

export type BackboneId = 'mobilenet_v2_mid' | 'mobilenet_v2' | 'inception_v3';
export const BACKBONE_IDS: readonly BackboneId[] = ['mobilenet_v2_mid', 'mobilenet_v2', 'inception_v3'];

/** nsfwjs head classes, in its output order. */
const NSFW_CLASSES = ['drawing', 'hentai', 'neutral', 'porn', 'sexy'] as const;
/**
 * Explicit-content score = P(porn) + P(hentai) + P(sexy). "sexy" (suggestive, not explicit) is
 * included on purpose: the score decides whether the dashboard may show an image, and hiding a
 * harmless photo costs far less than showing an explicit one.
 */
const EXPLICIT_CLASSES = new Set<string>(['porn', 'hentai', 'sexy']);

const SPEC: Record<BackboneId, { inputSize: number; featureDim: number; graph: boolean; featureNode: string }> = {
  mobilenet_v2_mid: {
    inputSize: 224,
    featureDim: 1792,
    graph: true,
    featureNode:
      'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze',
  },
  mobilenet_v2: { inputSize: 224, featureDim: 1280, graph: false, featureNode: 'flatten_1' },
  inception_v3: { inputSize: 299, featureDim: 2048, graph: false, featureNode: 'flatten_1' },
};

type Runner = (input: tf.Tensor4D) => [tf.Tensor2D, tf.Tensor2D];

/**
 * A frozen ImageNet-pretrained CNN (fine-tuned by nsfwjs for explicit-content classes), loaded from
 * the files inside the nsfwjs package — nothing is downloaded. Gives the penultimate feature vector
 * for the emotion model and the head's explicit-content score.
 */
export class ImageBackbone {
  readonly id: BackboneId;
  readonly inputSize: number;
  readonly featureDim: number;
  private readonly run: Runner;
  private readonly disposeModel: () => void;

  private constructor(id: BackboneId, run: Runner, disposeModel: () => void) {
    this.id = id;
    this.inputSize = SPEC[id].inputSize;
    this.featureDim = SPEC[id].featureDim;
    this.run = run;
    this.disposeModel = disposeModel;
  }

  static async load(options: { id?: BackboneId } = {}): Promise<ImageBackbone> {
    const id = options.id ?? 'mobilenet_v2_mid';
    const spec = SPEC[id];
    if (!spec) throw new MoodstreamError('MODEL_BACKBONE_UNKNOWN', `unknown backbone ${String(id)}; expected one of ${BACKBONE_IDS.join(', ')}`);
    if (spec.graph) {
      const graph = await tf.loadGraphModel(nsfwModelHandler(id));
      const outputNode = graph.outputNodes[0]!;
      const run: Runner = (input) => graph.execute(input, [spec.featureNode, outputNode]) as [tf.Tensor2D, tf.Tensor2D];
      return new ImageBackbone(id, run, () => graph.dispose());
    }
    const layers = await tf.loadLayersModel(nsfwModelHandler(id));
    const feature = layers.getLayer(spec.featureNode);
    const both = tf.model({ inputs: layers.inputs, outputs: [feature.output as tf.SymbolicTensor, layers.outputs[0]!] });
    const run: Runner = (input) => both.predict(input) as [tf.Tensor2D, tf.Tensor2D];
    return new ImageBackbone(id, run, () => layers.dispose());
  }

  /**
   * @param pixels one Uint8Array per image: RGB, inputSize×inputSize×3 (as from preprocessImage).
   * Input tensor [n, inputSize, inputSize, 3] float32 in 0..1 (nsfwjs's scaling);
   * features [n, featureDim]; head [n, 5] softmax.
   */
  async embed(pixels: Uint8Array[]): Promise<{ features: Float32Array[]; explicit: number[] }> {
    if (pixels.length === 0) return { features: [], explicit: [] };
    const size = this.inputSize * this.inputSize * 3;
    const flat = new Uint8Array(pixels.length * size);
    pixels.forEach((p, i) => {
      if (p.length !== size) throw new Error(`image ${i} has ${p.length} values, expected ${size}`);
      flat.set(p, i * size);
    });
    const [featT, headT] = tf.tidy(() => {
      const input = tf.tensor4d(flat, [pixels.length, this.inputSize, this.inputSize, 3], 'int32').toFloat().div(255) as tf.Tensor4D;
      return this.run(input);
    });
    const [feat, head] = await Promise.all([featT.data(), headT.data()]);
    featT.dispose();
    headT.dispose();
    const d = this.featureDim;
    const features = pixels.map((_, i) => Float32Array.from(feat.subarray(i * d, (i + 1) * d)));
    const explicit = pixels.map((_, i) => {
      let s = 0;
      NSFW_CLASSES.forEach((c, k) => {
        if (EXPLICIT_CLASSES.has(c)) s += head[i * NSFW_CLASSES.length + k]!;
      });
      return Math.min(1, Math.max(0, s));
    });
    return { features, explicit };
  }

  dispose(): void {
    this.disposeModel();
  }
}
