import { argmaxIndex } from '@moodstream/events';

/** How far converted logits are from the reference (Keras) logits of the same rows, and what that does to argmax. */
export interface LogitComparison {
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** Rows whose argmax class is the same in both. */
  argmaxAgree: number;
  /** Raw-argmax accuracy of the converted and of the reference logits. */
  accuracy: number;
  kerasAccuracy: number;
}

/** Compares row-major [n, k] logits (k = labels' class count, n = labels.length). */
export function compareLogits(converted: Float32Array, reference: Float32Array, labels: readonly number[]): LogitComparison {
  const n = labels.length;
  if (n === 0) throw new RangeError('compareLogits: no rows');
  if (converted.length !== reference.length || converted.length % n !== 0) throw new RangeError(`compareLogits: ${converted.length} vs ${reference.length} logits for ${n} rows`);
  const k = converted.length / n;
  let maxAbsDiff = 0;
  let sum = 0;
  let agree = 0;
  let right = 0;
  let kerasRight = 0;
  const argmax = (a: Float32Array, r: number) => argmaxIndex(a.subarray(r * k, (r + 1) * k));
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < k; c++) {
      const d = Math.abs(converted[r * k + c]! - reference[r * k + c]!);
      maxAbsDiff = Math.max(maxAbsDiff, d);
      sum += d;
    }
    const a = argmax(converted, r);
    const b = argmax(reference, r);
    if (a === b) agree++;
    if (a === labels[r]) right++;
    if (b === labels[r]) kerasRight++;
  }
  return { maxAbsDiff, meanAbsDiff: sum / converted.length, argmaxAgree: agree, accuracy: right / n, kerasAccuracy: kerasRight / n };
}
