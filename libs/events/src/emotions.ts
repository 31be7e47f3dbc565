import { z } from 'zod';

/** The six self-reported Tumblr emotions, in the fixed order every probability vector uses. */
export const EMOTIONS = ['happy', 'sad', 'angry', 'surprised', 'scared', 'disgusted'] as const;
export const EmotionSchema = z.enum(EMOTIONS);
export type Emotion = z.infer<typeof EmotionSchema>;
export const EMOTION_COUNT = EMOTIONS.length;

export function isEmotion(value: string): value is Emotion {
  return (EMOTIONS as readonly string[]).includes(value);
}

/** Probabilities over EMOTIONS in order; each in [0,1], summing to 1 within rounding. */
export const ProbabilitiesSchema = z
  .array(z.number().min(0).max(1))
  .length(EMOTION_COUNT, { message: `must hold ${EMOTION_COUNT} probabilities (${EMOTIONS.join(', ')})` })
  .refine((p) => Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-3, { message: 'probabilities must sum to 1' });
