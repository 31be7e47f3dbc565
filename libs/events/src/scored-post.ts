import { z } from 'zod';
import { argmaxEmotion } from './argmax';
import { EMOTION_COUNT, EMOTIONS, EmotionSchema, ProbabilitiesSchema } from './emotions';
import { TopicSchema } from './post';

export const ModalitySchema = z.enum(['text', 'image', 'both']);
export type Modality = z.infer<typeof ModalitySchema>;

/** Milliseconds spent per stage for the batch this post was scored in. */
export const StageLatenciesSchema = z
  .object({
    queueMs: z.number().nonnegative(),
    fetchMs: z.number().nonnegative(),
    decodeMs: z.number().nonnegative(),
    backboneMs: z.number().nonnegative(),
    modelMs: z.number().nonnegative(),
    totalMs: z.number().nonnegative(),
  })
  .partial()
  .strict();

export const ScoredPostSchema = z
  .object({
    postId: z.string().min(1).max(64),
    topics: z.array(TopicSchema).min(1).max(64),
    /** The post's own publication time, epoch ms: buckets are keyed by it. */
    timestamp: z.number().int().nonnegative(),
    /** Probabilities in EMOTIONS order. */
    probabilities: ProbabilitiesSchema,
    topEmotion: EmotionSchema,
    modality: ModalitySchema,
    /** Explicit-content score from the image backbone's head, 0..1; null when no image was scored. */
    explicit: z.number().min(0).max(1).nullable(),
    /** Why an image was not used although the post had one (the post fell back to text-only). */
    imageError: z.string().max(200).nullable().default(null),
    label: EmotionSchema.nullable().default(null),
    modelVersion: z.string().min(1).max(64),
    latencies: StageLatenciesSchema,
    scoredAt: z.number().int().nonnegative(),
    /** Shown in the drill-down view — always rendered as text. Truncated. */
    text: z.string().max(2_000).default(''),
    imageUrl: z.string().url().nullable().default(null),
    url: z.string().url().nullable().default(null),
  })
  .strict()
  .superRefine((post, ctx) => {
    // topEmotion is the argmax of the probabilities (ties: the first in EMOTIONS order), never a second opinion.
    if (post.probabilities.length !== EMOTION_COUNT) return;
    const top = argmaxEmotion(post.probabilities);
    if (post.topEmotion === top) return;
    const p = (emotion: string) => post.probabilities[EMOTIONS.indexOf(emotion as (typeof EMOTIONS)[number])];
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      path: ['topEmotion'],
      message: `must be the most probable emotion '${top}' (${p(top)}), not '${post.topEmotion}' (${p(post.topEmotion)})`,
    });
  });

export type ScoredPost = z.infer<typeof ScoredPostSchema>;
export type ScoredPostInput = z.input<typeof ScoredPostSchema>;
