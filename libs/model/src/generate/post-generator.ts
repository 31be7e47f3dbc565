import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { EMOTIONS, type Emotion } from '@moodstream/events';
import { seededRandom } from '@moodstream/core';
import { ModelFormatError } from '../errors';
import { Vocabulary } from '../text/vocabulary';
import {
  GEN_BOUNDARY_ID,
  GEN_PAD_ID,
  GEN_UNKNOWN_ID,
  GENERATOR_CONFIG_FILE,
  GENERATOR_VOCAB_FILE,
  GENERATOR_WEIGHTS_FILE,
  GeneratorConfigSchema,
  type GeneratorConfig,
} from './generator-config';
import { conditionVector } from './lm-data';
import { GEN_LAYERS, namedWeights, type LanguageModel } from './lm-network';

export interface GenerateOptions {
  emotion: Emotion;
  /** Backbone features of an image (featureDim long); absent = a post without an image. */
  imageFeatures?: Float32Array | null;
  /** Softmax temperature of the sampling (default 1); lower is more conservative. */
  temperature?: number;
  seed?: number;
  /** Words at most (default: the trained maxLen − 1). */
  maxWords?: number;
}

export interface GeneratedPost {
  /** Sampled words, every one from the generator's word list (never <pad>, <unk> or the end marker). */
  tokens: string[];
  /** The tokens joined for reading ("do n't" → "don't"). */
  text: string;
}

type Weights = Record<string, Float32Array>;

/** Saves a trained language model: generator.json (shape, weight manifest, training numbers), weights.bin, vocab.bin. */
export async function saveGenerator(dir: string, model: LanguageModel, words: readonly string[], vectors: Float32Array, config: Omit<GeneratorConfig, 'weightSpecs'>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const named = namedWeights(model);
  const { data, specs } = await tf.io.encodeWeights(named);
  const weightSpecs = specs.map((s) => ({ name: s.name, shape: s.shape, dtype: 'float32' as const }));
  await writeFile(path.join(dir, GENERATOR_WEIGHTS_FILE), Buffer.from(data as ArrayBuffer));
  await new Vocabulary(words, config.shape.embeddingDim, vectors).save(path.join(dir, GENERATOR_VOCAB_FILE));
  await writeFile(path.join(dir, GENERATOR_CONFIG_FILE), JSON.stringify({ ...config, weightSpecs }, null, 2) + '\n');
}

/**
 * The trained post generator, sampled in plain JavaScript (one LSTM cell step per word on Float32Arrays):
 * no tensors at run time, the same numbers on every backend, and deterministic under a seed.
 */
export class PostGenerator {
  private constructor(
    readonly config: GeneratorConfig,
    readonly words: Vocabulary,
    private readonly w: Weights,
  ) {}

  static async load(dir: string): Promise<PostGenerator> {
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(path.join(dir, GENERATOR_CONFIG_FILE), 'utf8'));
    } catch (error) {
      throw new ModelFormatError(`cannot read ${path.join(dir, GENERATOR_CONFIG_FILE)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const parsed = GeneratorConfigSchema.safeParse(raw);
    if (!parsed.success) throw new ModelFormatError(`invalid ${GENERATOR_CONFIG_FILE}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const config = parsed.data;
    const words = await Vocabulary.load(path.join(dir, GENERATOR_VOCAB_FILE));
    const bytes = await readFile(path.join(dir, GENERATOR_WEIGHTS_FILE));
    const w: Weights = {};
    let offset = 0;
    for (const spec of config.weightSpecs) {
      const n = spec.shape.reduce((a, b) => a * b, 1);
      if (offset + 4 * n > bytes.length) throw new ModelFormatError(`${GENERATOR_WEIGHTS_FILE} is shorter than its manifest`);
      w[spec.name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * n));
      offset += 4 * n;
    }
    const s = config.shape;
    if (words.size !== s.vocabSize || words.dim !== s.embeddingDim) throw new ModelFormatError(`${GENERATOR_VOCAB_FILE} is ${words.size}×${words.dim}, the shape says ${s.vocabSize}×${s.embeddingDim}`);
    const expected: Record<string, number> = {
      [`${GEN_LAYERS.image}/0`]: s.imageFeatureDim * s.imageUnits,
      [`${GEN_LAYERS.h0}/0`]: (s.imageUnits + s.conditionDim) * s.lstmUnits,
      [`${GEN_LAYERS.c0}/0`]: (s.imageUnits + s.conditionDim) * s.lstmUnits,
      [`${GEN_LAYERS.lstm}/0`]: s.embeddingDim * 4 * s.lstmUnits,
      [`${GEN_LAYERS.lstm}/1`]: s.lstmUnits * 4 * s.lstmUnits,
      [`${GEN_LAYERS.out}/0`]: s.lstmUnits * s.vocabSize,
    };
    for (const [name, n] of Object.entries(expected)) {
      if (w[name]?.length !== n) throw new ModelFormatError(`generator weight ${name} has ${w[name]?.length ?? 0} values, expected ${n}`);
    }
    return new PostGenerator(config, words, w);
  }

  /** A weight's values by its `layer/index` name (as weightSpecs lists it), for tools that rebuild the network. */
  weight(name: string): Float32Array | undefined {
    return this.w[name];
  }

  get vocabulary(): readonly string[] {
    return this.words.words;
  }

  /** Samples one post: initial state from the image and emotion, then one word at a time until the end marker. */
  generate(options: GenerateOptions): GeneratedPost {
    const s = this.config.shape;
    const temperature = options.temperature ?? 1;
    if (!(temperature > 0)) throw new ModelFormatError(`temperature must be > 0, got ${temperature}`);
    const rng = seededRandom(options.seed ?? 1);
    let [h, c] = this.initialState(options.emotion, options.imageFeatures ?? null);

    const tokens: string[] = [];
    const maxWords = options.maxWords ?? s.maxLen - 1;
    let previous = GEN_BOUNDARY_ID;
    for (let step = 0; step < maxWords; step++) {
      let logits: Float32Array;
      [logits, h, c] = this.step(previous, h, c);
      const next = sample(logits, temperature, rng, (id) => id !== GEN_PAD_ID && id !== GEN_UNKNOWN_ID && (step > 0 || id !== GEN_BOUNDARY_ID));
      if (next === GEN_BOUNDARY_ID) break;
      tokens.push(this.words.words[next]!);
      previous = next;
    }
    return { tokens, text: detokenise(tokens) };
  }

  /**
   * The sampler's next-word logits (before temperature and the <pad>/<unk> exclusion) after the end marker and after
   * each word of `ids`: row t scores the word that follows ids[0..t). What a trainer's logits are checked against.
   */
  nextWordLogits(ids: readonly number[], options: Pick<GenerateOptions, 'emotion' | 'imageFeatures'>): Float32Array[] {
    for (const id of ids) if (!Number.isInteger(id) || id < 0 || id >= this.words.size) throw new ModelFormatError(`word id ${id} is outside the generator's ${this.words.size} words`);
    let [h, c] = this.initialState(options.emotion, options.imageFeatures ?? null);
    const rows: Float32Array[] = [];
    for (const previous of [GEN_BOUNDARY_ID, ...ids]) {
      let logits: Float32Array;
      [logits, h, c] = this.step(previous, h, c);
      rows.push(logits);
    }
    return rows;
  }

  /** (h0, c0) from the image features and the emotion, as lm-network.ts computes them. */
  private initialState(emotion: Emotion, image: Float32Array | null): [Float32Array, Float32Array] {
    const s = this.config.shape;
    const label = EMOTIONS.indexOf(emotion);
    if (label < 0) throw new ModelFormatError(`unknown emotion ${String(emotion)}`);
    if (image !== null && image.length !== s.imageFeatureDim) throw new ModelFormatError(`image features have ${image.length} values, the generator expects ${s.imageFeatureDim}`);
    const imageVec = dense(image ?? new Float32Array(s.imageFeatureDim), this.w[`${GEN_LAYERS.image}/0`]!, this.w[`${GEN_LAYERS.image}/1`]!, 'relu');
    const condition = new Float32Array(s.imageUnits + s.conditionDim);
    // The unconditioned baseline was trained with a zero condition: give it the same, whatever was asked.
    if (this.config.conditioned) condition.set(imageVec, 0);
    condition.set(conditionVector(label, image !== null, this.config.conditioned), s.imageUnits);
    return [dense(condition, this.w[`${GEN_LAYERS.h0}/0`]!, this.w[`${GEN_LAYERS.h0}/1`]!, 'tanh'), dense(condition, this.w[`${GEN_LAYERS.c0}/0`]!, this.w[`${GEN_LAYERS.c0}/1`]!, 'tanh')];
  }

  /** One word in: the next-word logits and the new state. */
  private step(previous: number, h: Float32Array, c: Float32Array): [Float32Array, Float32Array, Float32Array] {
    const [nh, nc] = this.cell(this.vector(previous), h, c, this.config.shape.lstmUnits);
    return [dense(nh, this.w[`${GEN_LAYERS.out}/0`]!, this.w[`${GEN_LAYERS.out}/1`]!, 'linear'), nh, nc];
  }

  private vector(id: number): Float32Array {
    const d = this.words.dim;
    return this.words.vectors.subarray(id * d, (id + 1) * d);
  }

  /** One LSTM step, gates in Keras order (input, forget, cell, output), sigmoid recurrent activation as trained. */
  private cell(x: Float32Array, h: Float32Array, c: Float32Array, H: number): [Float32Array, Float32Array] {
    const z = dense(x, this.w[`${GEN_LAYERS.lstm}/0`]!, this.w[`${GEN_LAYERS.lstm}/2`]!, 'linear');
    addMatVec(h, this.w[`${GEN_LAYERS.lstm}/1`]!, z);
    const nh = new Float32Array(H);
    const nc = new Float32Array(H);
    for (let j = 0; j < H; j++) {
      const i = sigmoid(z[j]!);
      const f = sigmoid(z[H + j]!);
      const g = Math.tanh(z[2 * H + j]!);
      const o = sigmoid(z[3 * H + j]!);
      nc[j] = f * c[j]! + i * g;
      nh[j] = o * Math.tanh(nc[j]!);
    }
    return [nh, nc];
  }
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** x·W + b for a row-major kernel W [x.length, b.length]. */
function dense(x: Float32Array, W: Float32Array, b: Float32Array, activation: 'linear' | 'relu' | 'tanh'): Float32Array {
  const out = Float32Array.from(b);
  addMatVec(x, W, out);
  if (activation === 'relu') for (let j = 0; j < out.length; j++) out[j] = Math.max(0, out[j]!);
  if (activation === 'tanh') for (let j = 0; j < out.length; j++) out[j] = Math.tanh(out[j]!);
  return out;
}

function addMatVec(x: Float32Array, W: Float32Array, out: Float32Array): void {
  const n = out.length;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = i * n;
    for (let j = 0; j < n; j++) out[j]! += xi * W[row + j]!;
  }
}

/** Draws an id from softmax(logits / temperature) over the allowed ids. */
function sample(logits: Float32Array, temperature: number, rng: () => number, allowed: (id: number) => boolean): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (allowed(i)) max = Math.max(max, logits[i]! / temperature);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    if (!allowed(i)) continue;
    p[i] = Math.exp(logits[i]! / temperature - max);
    sum += p[i]!;
  }
  let u = rng() * sum;
  let last = -1;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    last = i;
    u -= p[i]!;
    if (u <= 0) return i;
  }
  return last;
}

/** Joins tokens for reading: GloVe-style contraction pieces go back onto their word. */
export function detokenise(tokens: readonly string[]): string {
  return tokens.join(' ').replace(/ (n't|'s|'m|'re|'ve|'ll|'d)\b/g, '$1');
}
