import { readFile } from 'node:fs/promises';
import type { ImageBackbone } from '../image/backbone';
import { readImageFolder, splitImages, type ImageExample } from './data';
import { FeatureCache } from './feature-cache';
import type { LabelledRow } from './trainer';

/**
 * Embeds the train and dev parts of an image folder (never the held-out test fifth) through the
 * feature cache and returns them as image-only rows.
 */
export async function loadImageTrainDev(
  imagesDir: string,
  backbone: ImageBackbone,
  cacheDir: string,
): Promise<{ train: LabelledRow[]; dev: LabelledRow[]; split: ReturnType<typeof splitImages> }> {
  const split = splitImages(await readImageFolder(imagesDir));
  const cache = new FeatureCache(cacheDir, backbone);
  const toRows = async (images: ImageExample[], label: string) => {
    const feats = await cache.features(images.map((im) => ({ bytes: () => readFile(im.file) })), label);
    return images.flatMap((im, i) => (feats[i] ? [{ tokens: [], imageFeatures: feats[i]!, label: im.label }] : []));
  };
  return { train: await toRows(split.train, 'train image features'), dev: await toRows(split.dev, 'dev image features'), split };
}

/**
 * No real image+text pairs exist in the shared data: pairs each image with a random text of the
 * same label (deterministic given rng).
 */
export function pairWithTexts(images: readonly LabelledRow[], texts: readonly LabelledRow[], rng: () => number): LabelledRow[] {
  const byLabel = new Map<number, LabelledRow[]>();
  for (const t of texts) if (t.tokens.length > 0) byLabel.set(t.label, [...(byLabel.get(t.label) ?? []), t]);
  return images.flatMap((im) => {
    const pool = byLabel.get(im.label);
    return pool ? [{ tokens: pool[Math.floor(rng() * pool.length)]!.tokens, imageFeatures: im.imageFeatures, label: im.label }] : [];
  });
}
