import { z } from 'zod';

/** Files the explain CLIs write into a model folder's explain/ sub-folder, read by the dashboard's model page. */
export const EXPLAIN_DIR = 'explain';
export const VISUALISATIONS_FILE = 'visualisations.json';
export const TOP_WORDS_FILE = 'top-words.json';
export const GENERATED_POSTS_FILE = 'generated-posts.json';

export interface VisualisationRecord {
  emotion: string;
  file: string;
  steps: number;
  seed: number;
  seconds: number;
  /** The target emotion's unnormalised image-branch score at the random start and at the end. */
  startScore: number;
  finalScore: number;
  topEmotion: string;
  finalLogits: number[];
  modelVersion: string;
}

export const VisualisationsFileSchema = z.object({
  backend: z.string(),
  images: z.array(
    z.object({
      emotion: z.string(),
      file: z.string(),
      steps: z.number(),
      seed: z.number(),
      seconds: z.number(),
      startScore: z.number(),
      finalScore: z.number(),
      topEmotion: z.string(),
      finalLogits: z.array(z.number()),
      modelVersion: z.string(),
    }),
  ),
});
