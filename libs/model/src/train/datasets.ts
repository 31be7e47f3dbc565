import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
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
): Promise<{ train: LabelledRow[]; dev: LabelledRow[]; trainIds: string[]; devIds: string[]; split: ReturnType<typeof splitImages> }> {
  const split = splitImages(await readImageFolder(imagesDir));
  const cache = new FeatureCache(cacheDir, backbone);
  const toRows = async (images: ImageExample[], label: string) => {
    const feats = await cache.features(images.map((im) => ({ bytes: () => readFile(im.file) })), label);
    const kept = images.flatMap((im, i) => (feats[i] ? [{ id: im.id, row: { tokens: [], imageFeatures: feats[i]!, label: im.label } }] : []));
    return { rows: kept.map((k) => k.row), ids: kept.map((k) => k.id) };
  };
  const train = await toRows(split.train, 'train image features');
  const dev = await toRows(split.dev, 'dev image features');
  return { train: train.rows, dev: dev.rows, trainIds: train.ids, devIds: dev.ids, split };
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

/**
 * Extra training views of the train images — mirrored, and a centre zoom to 80 % — embedded through
 * the same cache. A linear read-out of a frozen backbone trained on ~1,100 images gains from seeing
 * each photo from more than one crop; the test fifth and dev are never augmented or touched.
 */
export async function loadAugmentedImageTrain(imagesDir: string, backbone: ImageBackbone, cacheDir: string): Promise<LabelledRow[]> {
  const split = splitImages(await readImageFolder(imagesDir));
  const cache = new FeatureCache(cacheDir, backbone);
  const variants: Array<(bytes: Buffer) => Promise<Buffer>> = [
    (bytes) => sharp(bytes).rotate().flop().png({ compressionLevel: 1 }).toBuffer(),
    async (bytes) => {
      const img = sharp(bytes).rotate();
      const { width = 0, height = 0 } = await img.metadata();
      const w = Math.round(width * 0.8);
      const h = Math.round(height * 0.8);
      return img.extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h }).png({ compressionLevel: 1 }).toBuffer();
    },
  ];
  const rows: LabelledRow[] = [];
  for (const [v, variant] of variants.entries()) {
    const feats = await cache.features(split.train.map((im) => ({ bytes: async () => variant(await readFile(im.file)) })), `augmented train features ${v + 1}/${variants.length}`);
    split.train.forEach((im, i) => {
      if (feats[i]) rows.push({ tokens: [], imageFeatures: feats[i]!, label: im.label });
    });
  }
  return rows;
}
