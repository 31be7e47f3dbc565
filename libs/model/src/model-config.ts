import { z } from 'zod';
import { EMOTION_COUNT } from '@moodstream/events';
import { BACKBONE_IDS } from './image/backbone';

export const MODEL_FORMAT = 'moodstream-deep-sentiment/1';

export const NetworkConfigSchema = z.object({
  embeddingDim: z.number().int().positive(),
  lstmUnits: z.number().int().positive(),
  bidirectional: z.boolean(),
  bowSize: z.number().int().nonnegative(),
  bowUnits: z.number().int().positive(),
  imageFeatureDim: z.number().int().positive(),
  imageUnits: z.number().int().positive(),
  fusionUnits: z.number().int().positive(),
  dropout: z.number().min(0).max(1),
  bowDropout: z.number().min(0).max(1).default(0),
  textDropout: z.number().min(0).max(1).default(0),
  classes: z.number().int().positive(),
  seed: z.number().int(),
  /** Optional image read-out heads (see `NetworkConfig`): the shipped graph is `buildNetwork` of exactly this. */
  imageSkipHead: z.boolean().default(false),
  imageOnlyReadout: z.boolean().default(false),
  /** Independently trained members averaged in the graph (`NetworkConfig.members`); absent = 1, today's graph. */
  members: z.number().int().min(1).optional(),
});

/** config.json of a model folder: everything needed to rebuild inputs exactly as in training. */
export const ModelConfigSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.string().min(1).max(64),
  labels: z.array(z.string()).length(EMOTION_COUNT),
  backboneId: z.enum(BACKBONE_IDS as [string, ...string[]]),
  featureDim: z.number().int().positive(),
  preprocessing: z.object({
    maxLen: z.number().int().positive(),
    lowercase: z.literal(true),
    emotionHashtagsRemoved: z.array(z.string()),
    emojiAsTokens: z.literal(true),
    emoticonsAsTokens: z.literal(true),
    image: z.object({ inputSize: z.number().int().positive(), resize: z.string(), scale: z.string() }),
  }),
  network: NetworkConfigSchema,
  calibration: z.object({
    method: z.literal('temperature'),
    temperature: z.number().positive(),
    fittedOn: z.string(),
    /** Added to the logits of posts with text before the temperature: undoes part of the class weighting (tuned on dev). */
    textLogitBias: z.array(z.number()).length(EMOTION_COUNT).default(() => new Array<number>(EMOTION_COUNT).fill(0)),
    /** Temperatures per modality (image-only logits are sharper than text ones); `temperature` is the text one. */
    imageTemperature: z.number().positive().optional(),
    bothTemperature: z.number().positive().optional(),
  }),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;
