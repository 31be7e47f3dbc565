import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EMOTION_COUNT, EMOTIONS } from '@moodstream/events';
import { ModelFormatError } from './errors';
import { folderHandler } from './model-files';
import { ModelConfigSchema, type ModelConfig } from './model-config';
import { softmaxRow } from './calibration';
import { encodeBatch, rowFromText, type RowInput } from './encode';
import { Vocabulary } from './text/vocabulary';
import { BagOfWords } from './text/bag-of-words';
import { buildNetwork } from './network';

export const VOCAB_FILE = 'vocab.bin';
export const BOW_FILE = 'bow.json';
export const CONFIG_FILE = 'config.json';

export interface PredictInput {
  text: string;
  /** Backbone features of the post's image (featureDim long), or null/absent for image-less posts. */
  imageFeatures?: Float32Array | null;
}

export interface LoadOptions {
  /** Run one prediction of each modality before returning, so the first real batch does not pay for kernel setup (default true). */
  warmUp?: boolean;
}

/** Runs the network on encoded rows: raw logits [n, classes] and the modalities used (EmotionModel itself, or FusedOnnxHead). */
export interface LogitsRunner {
  logits(rows: readonly RowInput[]): Promise<{ logits: Float32Array; hasText: boolean[]; hasImage: boolean[] }>;
}

export interface Prediction {
  /** Calibrated probabilities in EMOTIONS order. */
  probabilities: number[];
  /** Which branches were used. A post with neither usable text nor image is scored from the learnt prior and reported as 'text'. */
  modality: 'text' | 'image' | 'both';
}

/**
 * The trained Deep Sentiment network plus everything needed to feed it: vocabulary, n-gram
 * features, preprocessing config and calibration. tfjs-models style: `load()` then `predict()`.
 */
export class EmotionModel {
  readonly config: ModelConfig;
  readonly network: tf.LayersModel;
  readonly vocab: Vocabulary;
  readonly bow: BagOfWords | null;
  private readonly vocabTensor: tf.Tensor2D;
  private warmUpTook: number | null = null;

  constructor(config: ModelConfig, network: tf.LayersModel, vocab: Vocabulary, bow: BagOfWords | null) {
    if (config.labels.join(',') !== EMOTIONS.join(',')) {
      throw new ModelFormatError(`model labels ${config.labels.join(',')} differ from EMOTIONS ${EMOTIONS.join(',')}`);
    }
    this.config = config;
    this.network = network;
    this.vocab = vocab;
    this.bow = bow;
    this.vocabTensor = tf.tensor2d(vocab.vectors, [vocab.size, vocab.dim]);
  }

  get version(): string {
    return this.config.version;
  }
  get backboneId(): string {
    return this.config.backboneId;
  }
  get featureDim(): number {
    return this.config.featureDim;
  }
  get temperature(): number {
    return this.config.calibration.temperature;
  }

  /** Milliseconds the warm-up at load took; null if this model was not warmed up. */
  get warmUpMs(): number | null {
    return this.warmUpTook;
  }

  /**
   * Loads a model folder. The network is the one `buildNetwork(config.network)` describes: the stored
   * topology must name the same layers wired the same way, and only the weights are taken from the folder.
   */
  static async load(dir: string, options: LoadOptions = {}): Promise<EmotionModel> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path.join(dir, CONFIG_FILE), 'utf8'));
    } catch (error) {
      throw new ModelFormatError(`cannot read ${path.join(dir, CONFIG_FILE)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const parsed = ModelConfigSchema.safeParse(raw);
    if (!parsed.success) throw new ModelFormatError(`invalid ${CONFIG_FILE}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const config = parsed.data;
    const vocab = await Vocabulary.load(path.join(dir, VOCAB_FILE));
    const bow = config.network.bowSize > 0 ? new BagOfWords(JSON.parse(await readFile(path.join(dir, BOW_FILE), 'utf8')) as string[]) : null;
    if (bow && bow.size !== config.network.bowSize) throw new ModelFormatError(`${BOW_FILE} has ${bow.size} features, config says ${config.network.bowSize}`);
    const network = await loadNetwork(dir, config);
    const model = new EmotionModel(config, network, vocab, bow);
    if (options.warmUp ?? true) await model.warmUp();
    return model;
  }

  /** One prediction per modality (text, image, both): tfjs compiles and caches its kernels on first use. */
  async warmUp(): Promise<number> {
    const started = performance.now();
    const image = new Float32Array(this.featureDim);
    await this.predict([{ text: 'warm up' }, { text: '', imageFeatures: image }, { text: 'warm up', imageFeatures: image }]);
    this.warmUpTook = performance.now() - started;
    return this.warmUpTook;
  }

  /** Writes config, vocabulary, n-gram list, topology and weights into dir. */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await this.network.save(folderHandler(dir));
    await this.vocab.save(path.join(dir, VOCAB_FILE));
    if (this.bow) await writeFile(path.join(dir, BOW_FILE), JSON.stringify(this.bow.features));
    await writeFile(path.join(dir, CONFIG_FILE), JSON.stringify(this.config, null, 2) + '\n');
  }

  /** A copy of this model with another calibration (fitted on dev); shares the network. */
  withCalibration(calibration: { temperature: number; fittedOn: string; textLogitBias?: number[]; imageTemperature?: number; bothTemperature?: number }): EmotionModel {
    const textLogitBias = calibration.textLogitBias ?? this.config.calibration.textLogitBias;
    return new EmotionModel({ ...this.config, calibration: { method: 'temperature', ...calibration, textLogitBias } }, this.network, this.vocab, this.bow);
  }

  /** The temperature used for a row with this modality mix. */
  temperatureFor(hasText: boolean, hasImage: boolean): number {
    const c = this.config.calibration;
    if (hasImage && hasText) return c.bothTemperature ?? c.temperature;
    if (hasImage) return c.imageTemperature ?? c.temperature;
    return c.temperature;
  }

  /** Calibrated probabilities from raw logits [n, classes]: text-prior bias for rows with text, then the modality's temperature. */
  calibrate(logits: Float32Array, hasText: readonly boolean[], hasImage: readonly boolean[]): number[][] {
    const k = EMOTION_COUNT;
    const bias = this.config.calibration.textLogitBias;
    return hasText.map((text, i) => {
      const row = Array.from(logits.subarray(i * k, (i + 1) * k), (v, c) => v + (text ? bias[c]! : 0));
      return softmaxRow(row, this.temperatureFor(text, hasImage[i] ?? false));
    });
  }

  /** Encodes rows into the network's inputs; the caller disposes the tensors. */
  encode(rows: readonly RowInput[]): ReturnType<typeof encodeBatch> {
    return encodeBatch(rows, {
      vocab: this.vocab,
      vocabTensor: this.vocabTensor,
      bow: this.bow,
      maxLen: this.config.preprocessing.maxLen,
      featureDim: this.config.featureDim,
    });
  }

  /** Uncalibrated logits [n, classes] for pre-tokenised rows (training and evaluation use this). */
  async logits(rows: readonly RowInput[]): Promise<{ logits: Float32Array; hasText: boolean[]; hasImage: boolean[] }> {
    if (rows.length === 0) return { logits: new Float32Array(0), hasText: [], hasImage: [] };
    let hasText: boolean[] = [];
    let hasImage: boolean[] = [];
    // Every intermediate tensor (inputs included) is freed by the tidy; only the logits leave it.
    const out = tf.tidy(() => {
      const encoded = this.encode(rows);
      hasText = encoded.hasText;
      hasImage = encoded.hasImage;
      return this.network.predict(encoded.tensors) as tf.Tensor;
    });
    try {
      return { logits: (await out.data()) as Float32Array, hasText, hasImage };
    } finally {
      out.dispose();
    }
  }

  /**
   * Scores posts. Inputs: text (raw post text; preprocessed here) and optional image features
   * [featureDim] from the ImageBackbone named by `backboneId`. `network` runs the network: this model's tfjs
   * copy by default, or the same weights on another runtime (FusedOnnxHead); calibration is the same either way.
   * @returns calibrated probabilities (EMOTIONS order) and the modality actually used, per post.
   */
  async predict(inputs: readonly PredictInput[], network: LogitsRunner = this): Promise<Prediction[]> {
    const rows = inputs.map((i) => rowFromText(i.text, i.imageFeatures));
    const { logits, hasText, hasImage } = await network.logits(rows);
    const probabilities = this.calibrate(logits, hasText, hasImage);
    return rows.map((_, i) => ({
      probabilities: probabilities[i]!,
      modality: hasText[i] && hasImage[i] ? 'both' : hasImage[i] ? 'image' : 'text',
    }));
  }

  dispose(): void {
    this.network.dispose();
    this.vocabTensor.dispose();
  }
}

type TopologyJson = { class_name?: string; config?: { layers?: Array<{ class_name: string; name: string; inbound_nodes?: unknown }> }; model_config?: TopologyJson };

/** Each layer as "name:Class<-inbound,layers": two graphs with the same set are wired the same way. */
function layerSignatures(topology: TopologyJson | undefined): string[] {
  const root = topology?.model_config ?? topology;
  return (root?.config?.layers ?? [])
    .map((l) => `${l.name}:${l.class_name}<-${JSON.stringify(l.inbound_nodes ?? [])}`)
    .sort();
}

/** buildNetwork(config.network) with the folder's weights; refuses a folder whose stored graph is another one. */
async function loadNetwork(dir: string, config: ModelConfig): Promise<tf.LayersModel> {
  const artifacts = await loadArtifacts(folderHandler(dir));
  const network = buildNetwork(config.network);
  const built = layerSignatures(network.toJSON(undefined, false) as TopologyJson);
  const stored = layerSignatures(artifacts.modelTopology as TopologyJson);
  if (built.join('\n') !== stored.join('\n')) {
    network.dispose();
    const missing = stored.filter((l) => !built.includes(l)).map((l) => l.split('<-')[0]);
    const extra = built.filter((l) => !stored.includes(l)).map((l) => l.split('<-')[0]);
    throw new ModelFormatError(
      `${dir}: the stored network is not the one buildNetwork(config.network) describes (stored only: ${missing.join(', ') || 'none'}; built only: ${extra.join(', ') || 'none'}; or wired differently)`,
    );
  }
  const weights = tf.io.decodeWeights(artifacts.weightData as ArrayBuffer, artifacts.weightSpecs ?? []);
  try {
    network.loadWeights(weights, true);
  } catch (error) {
    network.dispose();
    throw new ModelFormatError(`${dir}: weights do not fit buildNetwork(config.network): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    tf.dispose(Object.values(weights));
  }
  return network;
}

function loadArtifacts(handler: tf.io.IOHandler): Promise<tf.io.ModelArtifacts> {
  if (handler.load === undefined) throw new ModelFormatError('the model folder handler cannot load');
  return handler.load();
}
