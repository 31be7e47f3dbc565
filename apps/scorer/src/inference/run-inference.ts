import type { EmotionScorer, PredictInput } from '@moodstream/model';
import type { InferenceRequest, InferenceResult } from './inference-engine';

export interface LoadedModels {
  /** The one scoring path (libs/model): backbone, fused head, calibration, normalisation, argmax. */
  scorer: EmotionScorer;
}

/** Embeds the request's new images in one backbone pass, then scores every item with the fused model. */
export async function runInference(models: LoadedModels, request: InferenceRequest): Promise<InferenceResult> {
  const backboneStart = performance.now();
  const embedded = await models.scorer.embed(request.pixels);
  const backboneMs = request.pixels.length === 0 ? 0 : performance.now() - backboneStart;

  const inputs: PredictInput[] = request.items.map((item) => {
    if (item.image === null) return { text: item.text, imageFeatures: null };
    if (item.image.kind === 'features') return { text: item.text, imageFeatures: item.image.features };
    const fresh = embedded[item.image.index];
    if (fresh === undefined) throw new RangeError(`item refers to pixels ${item.image.index}, only ${embedded.length} given`);
    return { text: item.text, imageFeatures: fresh.features };
  });
  const modelStart = performance.now();
  const scores = await models.scorer.score(inputs);
  const modelMs = performance.now() - modelStart;
  return { scores, embedded, backboneMs, modelMs };
}
