import { EmotionScorer, initBackend } from '@moodstream/model';
import type { LoadedModels } from './run-inference';

export interface LoadedModelsWithBackend extends LoadedModels {
  backend: string;
}

/** Picks the tfjs backend for this thread and loads the scorer (fused model + the backbone it was trained on, warmed up). */
export async function loadModels(modelDir: string): Promise<LoadedModelsWithBackend> {
  const backend = await initBackend();
  const scorer = await EmotionScorer.load({ modelDir, images: true });
  return { scorer, backend: backend.provider };
}
