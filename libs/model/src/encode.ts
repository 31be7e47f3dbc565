import * as tf from '@tensorflow/tfjs';
import { PAD_ID, type Vocabulary } from './text/vocabulary';
import { textTokens } from './text/preprocess';
import type { BagOfWords } from './text/bag-of-words';

/** One row before encoding: token list (already preprocessed) and optional image features. */
export interface RowInput {
  tokens: readonly string[];
  imageFeatures: Float32Array | null;
}

export function rowFromText(text: string, imageFeatures: Float32Array | null | undefined): RowInput {
  return { tokens: textTokens(text), imageFeatures: imageFeatures ?? null };
}

/**
 * Builds the network's input tensors for a batch. Sequences are pre-padded to the longest text in
 * the batch (capped at maxLen); padding rows are zero vectors, which the Masking layer skips, so a
 * row's output does not depend on what it is batched with.
 * @returns tensors [embedded [n,T,dim], bow [n,B]?, image [n,F], presence [n,2]] — caller disposes.
 */
export function encodeBatch(
  rows: readonly RowInput[],
  ctx: { vocab: Vocabulary; vocabTensor: tf.Tensor2D; bow: BagOfWords | null; maxLen: number; featureDim: number },
): { tensors: tf.Tensor[]; hasText: boolean[]; hasImage: boolean[] } {
  const n = rows.length;
  const ids = rows.map((r) => r.tokens.slice(0, ctx.maxLen).map((t) => ctx.vocab.id(t)));
  const T = Math.max(1, ...ids.map((x) => x.length));
  const flatIds = new Int32Array(n * T).fill(PAD_ID);
  ids.forEach((row, i) => flatIds.set(row, i * T + (T - row.length)));
  const { hasText, hasImage, image, presence } = modalities(rows, ctx);
  const tensors: tf.Tensor[] = [];
  tensors.push(
    tf.tidy(() => {
      const idT = tf.tensor2d(flatIds, [n, T], 'int32');
      return tf.gather(ctx.vocabTensor, idT.flatten()).reshape([n, T, ctx.vocab.dim]);
    }),
  );
  if (ctx.bow) {
    const bow = new Float32Array(n * ctx.bow.size);
    rows.forEach((r, i) => ctx.bow!.fill(r.tokens, bow, i));
    tensors.push(tf.tensor2d(bow, [n, ctx.bow.size]));
  }
  tensors.push(tf.tensor2d(image, [n, ctx.featureDim]));
  tensors.push(tf.tensor2d(presence, [n, 2]));
  return { tensors, hasText, hasImage };
}

/**
 * Which branches each row uses (text: at least one token; image: features of the right length), the image
 * features back to back and the presence matrix [n, 2] — the same for every runtime of the network.
 * `omitAbsentImages`: `image` is empty when no row has one (ONNX Runtime's text-only graph takes none; a batch of
 * 32 would otherwise allocate 229 kB of zeros).
 */
export function modalities(
  rows: readonly RowInput[],
  ctx: { featureDim: number; omitAbsentImages?: boolean },
): { hasText: boolean[]; hasImage: boolean[]; image: Float32Array; presence: Float32Array } {
  const n = rows.length;
  const hasText = rows.map((r) => r.tokens.length > 0);
  const hasImage = rows.map((r) => r.imageFeatures !== null && r.imageFeatures.length === ctx.featureDim);
  const image = new Float32Array(ctx.omitAbsentImages && !hasImage.includes(true) ? 0 : n * ctx.featureDim);
  rows.forEach((r, i) => {
    if (hasImage[i]) image.set(r.imageFeatures!, i * ctx.featureDim);
  });
  const presence = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    presence[2 * i] = hasText[i] ? 1 : 0;
    presence[2 * i + 1] = hasImage[i] ? 1 : 0;
  }
  return { hasText, hasImage, image, presence };
}
