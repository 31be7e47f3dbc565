import { argmaxIndex, EMOTIONS } from '@moodstream/events';
import type { PostGenerator } from '@moodstream/model';
import type { GeneratorExport } from './generator-export';

/** How far the TypeScript sampler's next-word logits are from Keras's on the export's check texts. */
export interface SamplerCheck {
  texts: number;
  /** Next-word positions compared (each text's words + 1: after the end marker and after every word). */
  positions: number;
  maxAbsDiff: number;
  /** Positions whose most likely next word is the same in both. */
  argmaxAgree: number;
}

/** Runs PostGenerator.nextWordLogits on every check text of the export (its emotion, its image if it had one). */
export function checkSampler(generator: PostGenerator, exp: GeneratorExport): SamplerCheck {
  const V = exp.header.shape.vocabSize;
  const F = exp.header.shape.imageFeatureDim;
  let maxAbsDiff = 0;
  let positions = 0;
  let argmaxAgree = 0;
  exp.header.checks.forEach((c, k) => {
    const reference = exp.tensor(`check/${k}/logits`, [c.ids.length + 1, V]);
    const imageFeatures = c.hasImage ? exp.tensor(`check/${k}/image`, [F]) : null;
    const rows = generator.nextWordLogits(c.ids, { emotion: EMOTIONS[c.label]!, imageFeatures });
    rows.forEach((row, t) => {
      const ref = reference.subarray(t * V, (t + 1) * V);
      for (let v = 0; v < V; v++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(row[v]! - ref[v]!));
      if (argmaxIndex(row) === argmaxIndex(ref)) argmaxAgree++;
      positions++;
    });
  });
  return { texts: exp.header.checks.length, positions, maxAbsDiff, argmaxAgree };
}
