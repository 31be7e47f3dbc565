import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MoodstreamError } from '@moodstream/core';
import { BACKBONE_MODEL_DIR } from '../paths';
import { nsfwModelHandler } from './nsfw-shards';
import { OnnxBackboneSession } from './onnx-backbone';

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

/** Which engine runs the backbone: ONNX Runtime when it and the exported file are there ('auto'), or forced. */
export type BackboneRuntime = 'auto' | 'onnx' | 'tfjs';
export const BACKBONE_RUNTIMES: readonly BackboneRuntime[] = ['auto', 'onnx', 'tfjs'];

export interface BackboneLoadOptions {
  id?: BackboneId;
  /** Default 'auto': ONNX Runtime (CPU) if onnxruntime-node loads and the exported file exists, else tfjs. */
  runtime?: BackboneRuntime;
  /** ONNX Runtime intra-op threads per run (default 1). */
  onnxThreads?: number;
  /** ONNX Runtime execution providers in order (default ['cpu']); see README, GPU notes. */
  onnxProviders?: string[];
  /** The exported .onnx file (default models/backbone/<id>.onnx). */
  onnxFile?: string;
  /** Loads onnxruntime-node; injectable so tests can simulate it missing. */
  importModule?: (specifier: string) => Promise<unknown>;
  /** Called once with the runtime chosen and why (the apps pass their logger). */
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/** What runs the backbone, and why that one. */
export interface BackboneRuntimeInfo {
  runtime: 'onnx' | 'tfjs';
  /** 'onnxruntime-node cpu, 2 threads, <file>' or the tfjs backend's name. */
  detail: string;
  /** Why this one (and, for tfjs under 'auto', why not ONNX Runtime). */
  reason: string;
}

/** The default exported file of a backbone. */
export function backboneOnnxFile(id: BackboneId): string {
  return path.join(BACKBONE_MODEL_DIR, `${id}.onnx`);
}

/** Flat uint8 RGB images in, flat features and head probabilities out. */
type Runner = (pixels: Uint8Array, n: number) => Promise<{ feat: Float32Array; head: Float32Array }>;

/**
 * A frozen ImageNet-pretrained CNN (fine-tuned by nsfwjs for explicit-content classes), loaded from
 * the files inside the nsfwjs package (tfjs) or from its ONNX export in models/backbone (ONNX Runtime,
 * the same weights: features equal to ~1e-5) — nothing is downloaded. Gives the penultimate feature vector
 * for the emotion model and the head's explicit-content score.
 */
export class ImageBackbone {
  readonly id: BackboneId;
  readonly inputSize: number;
  readonly featureDim: number;
  readonly runtime: BackboneRuntimeInfo;
  private readonly run: Runner;
  private readonly disposeModel: () => void;

  private constructor(id: BackboneId, runtime: BackboneRuntimeInfo, run: Runner, disposeModel: () => void) {
    this.id = id;
    this.inputSize = SPEC[id].inputSize;
    this.featureDim = SPEC[id].featureDim;
    this.runtime = runtime;
    this.run = run;
    this.disposeModel = disposeModel;
  }

  static async load(options: BackboneLoadOptions = {}): Promise<ImageBackbone> {
    const id = options.id ?? 'mobilenet_v2_mid';
    const spec = SPEC[id];
    if (!spec) throw new MoodstreamError('MODEL_BACKBONE_UNKNOWN', `unknown backbone ${String(id)}; expected one of ${BACKBONE_IDS.join(', ')}`);
    const runtime = options.runtime ?? 'auto';
    let whyNotOnnx = 'tfjs asked for';
    if (runtime !== 'tfjs') {
      const file = options.onnxFile ?? backboneOnnxFile(id);
      try {
        const session = await OnnxBackboneSession.open({
          file,
          threads: options.onnxThreads ?? 1,
          ...(options.onnxProviders ? { providers: options.onnxProviders } : {}),
          ...(options.importModule ? { importModule: options.importModule } : {}),
        });
        const info: BackboneRuntimeInfo = {
          runtime: 'onnx',
          detail: `onnxruntime-node ${session.providers}, ${session.threads} intra-op thread${session.threads === 1 ? '' : 's'}, ${path.basename(file)}`,
          reason: runtime === 'onnx' ? 'onnx asked for' : 'onnxruntime-node and the exported file are present',
        };
        options.log?.('image backbone runtime selected', { backbone: id, ...info });
        const run: Runner = async (pixels, n) => {
          const out = await session.run(pixels, n, spec.inputSize);
          return { feat: out.features, head: out.head };
        };
        return new ImageBackbone(id, info, run, () => void session.release());
      } catch (error) {
        const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
        if (runtime === 'onnx') throw new MoodstreamError('MODEL_RUNTIME_UNAVAILABLE', `backbone ${id} cannot run on ONNX Runtime: ${reason}`, { cause: error });
        whyNotOnnx = `ONNX Runtime unavailable: ${reason}`;
      }
    }
    const info: BackboneRuntimeInfo = { runtime: 'tfjs', detail: `tfjs ${tf.getBackend()}`, reason: whyNotOnnx };
    options.log?.('image backbone runtime selected', { backbone: id, ...info });
    const toRunner =
      (forward: (input: tf.Tensor4D) => [tf.Tensor2D, tf.Tensor2D]): Runner =>
      async (pixels, n) => {
        const [featT, headT] = tf.tidy(() => {
          // nsfwjs's scaling: float32 in 0..1 (the exported graph does the same cast and division).
          const input = tf.tensor4d(pixels, [n, spec.inputSize, spec.inputSize, 3], 'int32').toFloat().div(255) as tf.Tensor4D;
          return forward(input);
        });
        try {
          const [feat, head] = await Promise.all([featT.data(), headT.data()]);
          return { feat: feat as Float32Array, head: head as Float32Array };
        } finally {
          featT.dispose();
          headT.dispose();
        }
      };
    if (spec.graph) {
      const graph = await tf.loadGraphModel(nsfwModelHandler(id));
      const outputNode = graph.outputNodes[0]!;
      return new ImageBackbone(id, info, toRunner((input) => graph.execute(input, [spec.featureNode, outputNode]) as [tf.Tensor2D, tf.Tensor2D]), () => graph.dispose());
    }
    const layers = await tf.loadLayersModel(nsfwModelHandler(id));
    const feature = layers.getLayer(spec.featureNode);
    const both = tf.model({ inputs: layers.inputs, outputs: [feature.output as tf.SymbolicTensor, layers.outputs[0]!] });
    return new ImageBackbone(id, info, toRunner((input) => both.predict(input) as [tf.Tensor2D, tf.Tensor2D]), () => layers.dispose());
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
    const { feat, head } = await this.run(flat, pixels.length);
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
