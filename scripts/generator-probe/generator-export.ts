/**
 * A generator-probe run (scripts/generator-probe/train.py) as the project's language model: the export file is read,
 * its weights are set on `buildLanguageModel`'s layers by lm-network.ts's names (`gen_lstm/0` = the layer's first
 * getWeights() tensor, ...), and `saveGenerator` writes the folder. Also loads a generator folder's weights back into
 * a LanguageModel, so an existing generator is measured by the same evaluation.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ModelFormatError, PostGenerator, type Vocabulary } from '@moodstream/model';
// File-private to libs/model (not in its index): the generator's network, format and writer, imported as they are.
import { buildLanguageModel, GEN_LAYERS, type LanguageModel } from '../../libs/model/src/generate/lm-network';
import { GeneratorShapeSchema, type GeneratorConfig, type GeneratorShape } from '../../libs/model/src/generate/generator-config';
import type { LmExample } from '../../libs/model/src/generate/lm-data';
import { readExportFile } from '../probe-export-file';

export const GENERATOR_EXPORT_MAGIC = 'MSGENER1';
export const GENERATOR_EXPORT_FORMAT = 'moodstream-generator-probe-export/1';

export interface GeneratorExportHeader {
  format: string;
  run: string;
  /** The generator whose word list (vocab.bin) the run's token ids index. */
  generatorVersion: string;
  backboneId: string;
  conditioned: boolean;
  shape: GeneratorShape;
  words: string[];
  training: Record<string, unknown>;
  /** Held-out texts whose Keras next-word logits are stored as check/<k>/logits (and check/<k>/image with an image). */
  checks: Array<{ ids: number[]; label: number; hasImage: boolean }>;
  tensors: Array<{ name: string; shape: number[]; offset: number }>;
}

export interface GeneratorExport {
  header: GeneratorExportHeader;
  tensor(name: string, shape?: readonly number[]): Float32Array;
}

/** Parses train.py's export file (the frame: ../probe-export-file.ts) and checks its shape and word list. */
export function readGeneratorExport(buf: Buffer): GeneratorExport {
  const file = readExportFile<GeneratorExportHeader>(buf, { magic: GENERATOR_EXPORT_MAGIC, format: GENERATOR_EXPORT_FORMAT, tool: 'generator-probe' });
  const header = file.header;
  const shape = GeneratorShapeSchema.safeParse(header.shape);
  if (!shape.success) throw new ModelFormatError(`generator-probe export shape: ${shape.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  if (header.words.length !== shape.data.vocabSize) throw new ModelFormatError(`generator-probe export has ${header.words.length} words, its shape says ${shape.data.vocabSize}`);
  return { header: { ...header, shape: shape.data }, tensor: file.tensor };
}

/**
 * buildLanguageModel(shape) with every weight replaced by `weight(name, shape)` (name `layer/index` as namedWeights
 * lists them), each shape checked against the built layer's own: a transposed or missing tensor is refused.
 */
export function languageModelWithWeights(shape: GeneratorShape, weight: (name: string, shape: readonly number[]) => Float32Array): LanguageModel {
  const lm = buildLanguageModel(shape);
  for (const layerName of Object.values(GEN_LAYERS)) {
    const layer = layerName === GEN_LAYERS.out ? lm.head : lm.recurrent.getLayer(layerName);
    const values = layer.getWeights().map((w, i) => tf.tensor(weight(`${layerName}/${i}`, w.shape), w.shape));
    layer.setWeights(values);
    tf.dispose(values);
  }
  return lm;
}

/** An export's weights on the project's network, with its word list and vectors. */
export function importGeneratorExport(exp: GeneratorExport): { model: LanguageModel; words: string[]; vectors: Float32Array } {
  const s = exp.header.shape;
  const vectors = Float32Array.from(exp.tensor('vocab/vectors', [s.vocabSize, s.embeddingDim]));
  return { model: languageModelWithWeights(s, (name, shape) => exp.tensor(name, shape)), words: exp.header.words, vectors };
}

/**
 * A generator folder back as a LanguageModel, its config and its decoded vectors: read and checked by
 * PostGenerator.load (the one reader of the format), each weight's manifest shape checked against the built layer's.
 */
export async function loadGeneratorFolder(dir: string): Promise<{ model: LanguageModel; config: GeneratorConfig; vocab: Vocabulary }> {
  const generator = await PostGenerator.load(dir);
  const specs = new Map(generator.config.weightSpecs.map((spec) => [spec.name, spec.shape]));
  const model = languageModelWithWeights(generator.config.shape, (name, shape) => {
    const stored = specs.get(name);
    const values = generator.weight(name);
    if (!stored || !values || stored.length !== shape.length || stored.some((d, i) => d !== shape[i])) throw new ModelFormatError(`${dir}: weight ${name} is missing or not [${shape.join(', ')}]`);
    return values;
  });
  return { model, config: generator.config, vocab: generator.words };
}

/** export-data.ts's tokens.json as examples: the word list, what the held-out set is, the train and held-out splits. */
export interface ProbeData {
  words: string[];
  heldOutInfo: Record<string, unknown>;
  train: LmExample[];
  heldOut: LmExample[];
}

export async function readProbeData(dir: string): Promise<ProbeData> {
  type Split = { ids: number[][]; labels: number[] };
  const data = JSON.parse(await readFile(path.join(dir, 'tokens.json'), 'utf8')) as { words: string[]; heldOutInfo: Record<string, unknown>; train: Split; heldOut: Split };
  const examples = (split: Split): LmExample[] => split.ids.map((ids, i) => ({ ids, label: split.labels[i]!, image: null }));
  return { words: data.words, heldOutInfo: data.heldOutInfo, train: examples(data.train), heldOut: examples(data.heldOut) };
}
