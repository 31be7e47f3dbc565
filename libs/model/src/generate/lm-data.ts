import { EMOTION_COUNT } from '@moodstream/events';
import { textTokens } from '../text/preprocess';
import type { Vocabulary } from '../text/vocabulary';
import { GEN_BOUNDARY, GEN_BOUNDARY_ID, GEN_PAD_ID, GEN_UNKNOWN_ID } from './generator-config';

/** One training or held-out example: word ids (without boundaries), its emotion and maybe image features. */
export interface LmExample {
  ids: number[];
  label: number;
  image: Float32Array | null;
}

/**
 * The generator's word list: <pad>, <unk>, </s>, then the most frequent training tokens that have a word vector
 * in `vectors` (the classifier's GloVe subset), at most `size` in all. Ties break alphabetically, so the list is
 * the same on every run.
 */
export function buildWordList(texts: readonly string[], size: number, vectors: Pick<Vocabulary, 'has'>): string[] {
  const counts = new Map<string, number>();
  for (const text of texts) for (const t of textTokens(text)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const words = [...counts.entries()]
    .filter(([w]) => vectors.has(w))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, Math.max(0, size - 3))
    .map(([w]) => w);
  return ['<pad>', '<unk>', GEN_BOUNDARY, ...words];
}

/** Word ids of a text (unknown tokens → <unk>), cut to maxLen − 1 words so the end marker fits. */
export function encodeText(text: string, index: ReadonlyMap<string, number>, maxLen: number): number[] {
  return textTokens(text)
    .slice(0, maxLen - 1)
    .map((t) => index.get(t) ?? GEN_UNKNOWN_ID);
}

/** The condition vector [hasImage, one-hot emotion]; all zeros for the unconditioned baseline. */
export function conditionVector(label: number, hasImage: boolean, conditioned: boolean): Float32Array {
  const v = new Float32Array(EMOTION_COUNT + 1);
  if (!conditioned) return v;
  v[0] = hasImage ? 1 : 0;
  v[1 + label] = 1;
  return v;
}

/** Teacher-forcing arrays of a batch: inputs </s> w1…wn, targets w1…wn </s>, post-padded to the longest, with a loss mask. */
export function batchArrays(batch: readonly LmExample[]): { T: number; inputs: Int32Array; targets: Int32Array; mask: Float32Array } {
  const T = Math.max(...batch.map((e) => e.ids.length + 1));
  const inputs = new Int32Array(batch.length * T).fill(GEN_PAD_ID);
  const targets = new Int32Array(batch.length * T).fill(GEN_PAD_ID);
  const mask = new Float32Array(batch.length * T);
  batch.forEach((e, b) => {
    const seqIn = [GEN_BOUNDARY_ID, ...e.ids];
    const seqOut = [...e.ids, GEN_BOUNDARY_ID];
    for (let t = 0; t < seqIn.length; t++) {
      inputs[b * T + t] = seqIn[t]!;
      targets[b * T + t] = seqOut[t]!;
      mask[b * T + t] = 1;
    }
  });
  return { T, inputs, targets, mask };
}
