import { BACKBONE_IDS, DEFAULT_MODEL_DIR, EmotionModel, ImageBackbone, initBackend, type BackboneId } from '@moodstream/model';
import { MoodstreamError } from '@moodstream/core';
import type { LoadedModels } from './run-inference';

export interface LoadedModelsWithBackend extends LoadedModels {
  backend: string;
}

/** Picks the tfjs backend for this thread and loads the fused model and the backbone it was trained on. */
export async function loadModels(modelDir: string): Promise<LoadedModelsWithBackend> {
  const backend = await initBackend();
  const emotion = await EmotionModel.load(modelDir === '' ? DEFAULT_MODEL_DIR : modelDir);
  const backboneId = emotion.backboneId;
  if (!isBackboneId(backboneId)) {
    throw new MoodstreamError('MODEL_BACKBONE_UNKNOWN', `model ${emotion.version} names backbone ${backboneId}, not one of ${BACKBONE_IDS.join(', ')}`);
  }
  const backbone = await ImageBackbone.load({ id: backboneId });
  if (backbone.featureDim !== emotion.featureDim) {
    throw new MoodstreamError('MODEL_BACKBONE_MISMATCH', `backbone ${backboneId} gives ${backbone.featureDim} features, the model expects ${emotion.featureDim}`);
  }
  return { emotion, backbone, backend: backend.provider };
}

function isBackboneId(id: string): id is BackboneId {
  return (BACKBONE_IDS as readonly string[]).includes(id);
}
