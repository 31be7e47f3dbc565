import type { EmotionModel, ImageBackbone, PredictInput } from '@moodstream/model';
import type { InferenceRequest, InferenceResult } from './inference-engine';
import { predictByLength } from './predict-by-length';

export interface LoadedModels {
  emotion: EmotionModel;
  backbone: ImageBackbone;
}

/** Embeds the request's new images in one backbone pass, then scores every item with the fused model. */
export async function runInference(models: LoadedModels, request: InferenceRequest): Promise<InferenceResult> {
  const backboneStart = performance.now();
  const embeddedRaw = await models.backbone.embed(request.pixels);
  const backboneMs = request.pixels.length === 0 ? 0 : performance.now() - backboneStart;
  const embedded = embeddedRaw.features.map((features, i) => ({ features, explicit: embeddedRaw.explicit[i] ?? 0 }));

  const inputs: PredictInput[] = request.items.map((item) => {
    if (item.image === null) return { text: item.text, imageFeatures: null };
    if (item.image.kind === 'features') return { text: item.text, imageFeatures: item.image.features };
    const fresh = embedded[item.image.index];
    if (fresh === undefined) throw new RangeError(`item refers to pixels ${item.image.index}, only ${embedded.length} given`);
    return { text: item.text, imageFeatures: fresh.features };
  });
  const modelStart = performance.now();
  const predictions = await predictByLength(models.emotion, inputs);
  const modelMs = performance.now() - modelStart;
  return { predictions, embedded, backboneMs, modelMs };
}
