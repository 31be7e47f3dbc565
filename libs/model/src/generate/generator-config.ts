import { z } from 'zod';
import { EMOTION_COUNT } from '@moodstream/events';

export const GENERATOR_FORMAT = 'moodstream-post-generator/1';
export const GENERATOR_CONFIG_FILE = 'generator.json';
export const GENERATOR_WEIGHTS_FILE = 'weights.bin';
export const GENERATOR_VOCAB_FILE = 'vocab.bin';

/** Token ids fixed by the generator's word list: padding, unknown, and one token for both start and end of a post. */
export const GEN_PAD_ID = 0;
export const GEN_UNKNOWN_ID = 1;
export const GEN_BOUNDARY_ID = 2;
export const GEN_BOUNDARY = '</s>';

export const GeneratorShapeSchema = z.object({
  /** Word-vector size (the frozen GloVe rows of the generator's own word list). */
  embeddingDim: z.number().int().positive(),
  lstmUnits: z.number().int().positive(),
  /** Backbone features are projected to this many units before they set the initial state. */
  imageUnits: z.number().int().positive(),
  imageFeatureDim: z.number().int().positive(),
  vocabSize: z.number().int().positive(),
  /** Condition vector = [hasImage, one-hot emotion (EMOTIONS order)]. */
  conditionDim: z.literal(EMOTION_COUNT + 1),
  maxLen: z.number().int().positive(),
  seed: z.number().int(),
});
export type GeneratorShape = z.infer<typeof GeneratorShapeSchema>;

/** generator.json: the shape, the weight manifest and what the training measured. */
export const GeneratorConfigSchema = z.object({
  format: z.literal(GENERATOR_FORMAT),
  version: z.string().min(1).max(64),
  backboneId: z.string(),
  /** false: the baseline whose initial state ignores image and emotion (the condition is zeroed). */
  conditioned: z.boolean(),
  shape: GeneratorShapeSchema,
  weightSpecs: z.array(z.object({ name: z.string(), shape: z.array(z.number().int()), dtype: z.literal('float32') })),
  training: z.record(z.unknown()),
});
export type GeneratorConfig = z.infer<typeof GeneratorConfigSchema>;
