import { MoodstreamError } from '@moodstream/core';
import { argmaxEmotion, type Emotion, type Modality, type Post, type ScoredPost } from '@moodstream/events';
import { EmotionModel, type Prediction, type PredictInput } from './emotion-model';
import { BACKBONE_IDS, ImageBackbone, type BackboneId, type BackboneLoadOptions, type BackboneRuntimeInfo } from './image/backbone';
import { selectNetworkRuntime, type NetworkRuntimeInfo, type NetworkRuntimeOptions, type SelectedNetwork } from './onnx/network-runtime';
import { DEFAULT_MODEL_DIR } from './paths';
import { predictByLength } from './predict-by-length';

/** What the model says about one post: the model-owned fields of a ScoredPost. */
export interface EmotionScore {
  /** In EMOTIONS order, each in [0,1], summing to 1 (renormalised after the float32 softmax). */
  probabilities: number[];
  /** argmaxEmotion(probabilities): the schema holds it to that. */
  topEmotion: Emotion;
  /** Which branches were used. */
  modality: Modality;
  modelVersion: string;
}

/** The embedding of one image by the backbone: features for the fused model and the explicit-content score. */
export interface ImageEmbedding {
  features: Float32Array;
  explicit: number;
}

export interface EmotionScorerOptions {
  /** Model folder (default models/default). */
  modelDir?: string;
  /** Load the image backbone the model was trained on (default true); without it only features given by the caller are used. */
  images?: boolean;
  /** Warm the model (and backbone) up at load (default true). */
  warmUp?: boolean;
  /** How the image backbone runs (ONNX Runtime or tfjs, threads); the id comes from the model. */
  backbone?: Omit<BackboneLoadOptions, 'id'>;
  /** What runs the fused network (default 'auto': ONNX Runtime when it loads and agrees with tfjs, else tfjs). */
  network?: NetworkRuntimeOptions;
}

/** One scoring path for every caller (the scorer, a re-scoring replay): the fields a ScoredPost takes from the model. */
export interface ScoredPostExtras {
  explicit: number | null;
  imageError: string | null;
  latencies: ScoredPost['latencies'];
  scoredAt: number;
}

const MODEL_VERSION_MAX = 64;
const TEXT_MAX = 2_000;

/**
 * The public face of the model, tfjs-models style: `EmotionScorer.load()` then `embed()` / `score()`.
 * Preprocessing, the image backbone, the fused head, calibration, normalisation, the argmax, the modality
 * and the model version all happen here, once, for every caller; the network itself stays private.
 */
export class EmotionScorer {
  private constructor(
    private readonly model: EmotionModel,
    private readonly backbone: ImageBackbone | null,
    private readonly network: SelectedNetwork,
    /** Milliseconds the warm-up at load took (model and backbone); null when not warmed up. */
    readonly warmUpMs: number | null,
  ) {}

  static async load(options: EmotionScorerOptions = {}): Promise<EmotionScorer> {
    const warmUp = options.warmUp ?? true;
    const model = await EmotionModel.load(options.modelDir === undefined || options.modelDir === '' ? DEFAULT_MODEL_DIR : options.modelDir, { warmUp });
    let backbone: ImageBackbone | null = null;
    let network: SelectedNetwork | null = null;
    let backboneWarmUpMs = 0;
    try {
      // Its agreement check against tfjs doubles as the ONNX session's warm-up.
      network = await selectNetworkRuntime(model, options.network);
      if (options.images ?? true) {
        const backboneId = model.backboneId;
        if (!(BACKBONE_IDS as readonly string[]).includes(backboneId)) {
          throw new MoodstreamError('MODEL_BACKBONE_UNKNOWN', `model ${model.version} names backbone ${backboneId}, not one of ${BACKBONE_IDS.join(', ')}`);
        }
        backbone = await ImageBackbone.load({ ...options.backbone, id: backboneId as BackboneId });
        if (backbone.featureDim !== model.featureDim) {
          throw new MoodstreamError('MODEL_BACKBONE_MISMATCH', `backbone ${backboneId} gives ${backbone.featureDim} features, the model expects ${model.featureDim}`);
        }
        if (warmUp) {
          const started = performance.now();
          await backbone.embed([new Uint8Array(backbone.inputSize * backbone.inputSize * 3)]);
          backboneWarmUpMs = performance.now() - started;
        }
      }
    } catch (error) {
      await network?.release();
      model.dispose();
      backbone?.dispose();
      throw error;
    }
    return new EmotionScorer(model, backbone, network, warmUp ? (model.warmUpMs ?? 0) + backboneWarmUpMs : null);
  }

  get modelVersion(): string {
    return this.model.version;
  }
  get backboneId(): string {
    return this.model.backboneId;
  }
  get featureDim(): number {
    return this.model.featureDim;
  }
  /** Side of the square RGB images `embed` takes. */
  get inputSize(): number {
    return this.backbone?.inputSize ?? this.model.config.preprocessing.image.inputSize;
  }
  get hasImages(): boolean {
    return this.backbone !== null;
  }
  /** What runs the image backbone and why; null when loaded without it. */
  get backboneRuntime(): BackboneRuntimeInfo | null {
    return this.backbone?.runtime ?? null;
  }

  /** What runs the fused network and why. */
  get networkRuntime(): NetworkRuntimeInfo {
    return this.network.info;
  }

  /** Backbone features and explicit-content score of decoded images (inputSize×inputSize×3 RGB bytes each). */
  async embed(pixels: Uint8Array[]): Promise<ImageEmbedding[]> {
    if (pixels.length === 0) return [];
    if (this.backbone === null) throw new MoodstreamError('MODEL_BACKBONE_UNKNOWN', 'this scorer was loaded without its image backbone');
    const embedded = await this.backbone.embed(pixels);
    return embedded.features.map((features, i) => ({ features, explicit: embedded.explicit[i] ?? 0 }));
  }

  /** Scores posts (raw text, optional backbone features), in length-sorted passes; one score per input, in order. */
  async score(inputs: readonly PredictInput[]): Promise<EmotionScore[]> {
    const network = this.network.runner;
    const predictions = await predictByLength({ predict: (batch) => this.model.predict(batch, network) }, inputs);
    return predictions.map((p) => emotionScore(p, this.model.version));
  }

  dispose(): void {
    void this.network.release();
    this.model.dispose();
    this.backbone?.dispose();
  }
}

/** A calibrated prediction as the ScoredPost fields it fills: probabilities renormalised, the argmax, modality, version. */
export function emotionScore(prediction: Prediction, modelVersion: string): EmotionScore {
  const probabilities = normalised(prediction.probabilities);
  return { probabilities, topEmotion: argmaxEmotion(probabilities), modality: prediction.modality, modelVersion: modelVersion.slice(0, MODEL_VERSION_MAX) };
}

/** The one place a ScoredPost is built from a Post and its score. */
export function scoredPost(post: Post, score: EmotionScore, extras: ScoredPostExtras): ScoredPost {
  return {
    postId: post.id,
    topics: post.topics,
    timestamp: post.timestamp,
    probabilities: score.probabilities,
    topEmotion: score.topEmotion,
    // A post that had an image but lost it says 'text' — which is what was actually used.
    modality: score.modality,
    explicit: extras.explicit,
    imageError: extras.imageError,
    label: post.label,
    modelVersion: score.modelVersion,
    latencies: extras.latencies,
    scoredAt: extras.scoredAt,
    text: post.text.slice(0, TEXT_MAX),
    imageUrl: post.imageUrl,
    url: post.url,
  };
}

/** float32 softmax sums drift from 1 by rounding; the event schema wants them to add up. */
function normalised(probabilities: readonly number[]): number[] {
  const clamped = probabilities.map((p) => (Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : Number.NaN));
  const sum = clamped.reduce((a, b) => a + b, 0);
  if (!Number.isFinite(sum) || sum <= 0) {
    throw new MoodstreamError('MODEL_OUTPUT_INVALID', `model produced unusable probabilities: ${probabilities.join(',')}`);
  }
  return clamped.map((p) => p / sum);
}
