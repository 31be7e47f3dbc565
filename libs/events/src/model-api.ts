import { z } from 'zod';
import { EMOTION_COUNT, EmotionSchema } from './emotions';
import { ModalitySchema } from './scored-post';

/** POST /api/explain/post: why a post scored as it did. The fields are the ones an ExamplePost carries. Answers a PostExplanation. */
export const ExplainPostRequestSchema = z
  .object({
    /** User text (at most the 2,000 characters a ScoredPost keeps). */
    text: z.string().max(2_000),
    /** The stored probabilities (EMOTIONS order) — the image's part is measured against them. */
    probabilities: z.array(z.number().min(0).max(1)).length(EMOTION_COUNT).nullable().optional(),
    modality: ModalitySchema.nullable().optional(),
    explicit: z.number().min(0).max(1).nullable().optional(),
  })
  .strict();
export type ExplainPostRequest = z.infer<typeof ExplainPostRequestSchema>;

export const WordContributionSchema = z.object({ token: z.string(), contribution: z.number() });

/**
 * The top emotion's calibrated, centred log-probability moves from the baseline input (as many words that say nothing,
 * no image) to the post: `textPart` (to the text alone; the words' contributions, by integrated gradients, sum to it
 * within `completenessGap`) plus `imagePart` (text alone → text with image). imageShare = |image| / (|image| + |text|).
 */
export const PostExplanationSchema = z.object({
  modelVersion: z.string(),
  emotion: EmotionSchema,
  /** Render each token as text, never HTML. */
  words: z.array(WordContributionSchema),
  textPart: z.number(),
  imagePart: z.number(),
  imageShare: z.number().min(0).max(1),
  completenessGap: z.number(),
  explicit: z.number().nullable(),
  textProbabilities: z.array(z.number()).length(EMOTION_COUNT),
});
export type PostExplanation = z.infer<typeof PostExplanationSchema>;

/** One row of the study's Table 6.1 shape. */
export const EvaluationRowSchema = z.object({
  name: z.string(),
  n: z.number().int().nonnegative(),
  accuracy: z.number().nullable(),
  macroF1: z.number().nullable(),
  ece: z.number().nullable(),
  note: z.string().optional(),
});
export type EvaluationRow = z.infer<typeof EvaluationRowSchema>;

/** GET /api/model: what the model page shows. Every part the model folder lacks is null (the page says so). */
export const ModelInfoSchema = z.object({
  version: z.string(),
  /** MODEL_CARD.md as plain text (rendered as text). */
  card: z.string().nullable(),
  evaluation: z.object({ source: z.string(), rows: z.array(EvaluationRowSchema) }).nullable(),
  confusion: z.object({ labels: z.array(z.string()), matrix: z.array(z.array(z.number())), source: z.string() }).nullable(),
  /** Words whose single-word text the text branch scores highest for each emotion. */
  topWords: z.object({ method: z.string(), modelVersion: z.string(), emotions: z.record(EmotionSchema, z.array(z.object({ token: z.string(), probability: z.number() }))) }).nullable(),
  visualisations: z.array(
    z.object({ emotion: EmotionSchema, url: z.string(), steps: z.number(), startScore: z.number(), finalScore: z.number(), topEmotion: z.string(), seconds: z.number() }),
  ),
  generated: z
    .object({
      generatorVersion: z.string(),
      perplexity: z.object({ conditioned: z.number(), unconditioned: z.number(), unigram: z.number() }).nullable(),
      posts: z.array(z.object({ emotion: EmotionSchema, text: z.string(), seed: z.number(), temperature: z.number() })),
    })
    .nullable(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

/** Where the class visualisations are served: `${MODEL_VISUALISATION_PATH}/<emotion>.png`. */
export const MODEL_VISUALISATION_PATH = '/api/model/visualisations';
