import { EMOTION_COUNT, EMOTIONS, type Emotion } from './emotions';

/** Index of the largest value; ties go to the lowest index (the first in EMOTIONS order). */
export function argmaxIndex(values: ArrayLike<number>): number {
  let top = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[top]!) top = i;
  return top;
}

/**
 * The one argmax of the project: the most probable emotion of a probability vector in EMOTIONS order,
 * ties resolved to the first emotion in that order. The ScoredPost schema holds `topEmotion` to it.
 */
export function argmaxEmotion(probabilities: ArrayLike<number>): Emotion {
  if (probabilities.length !== EMOTION_COUNT) throw new RangeError(`expected ${EMOTION_COUNT} probabilities, got ${probabilities.length}`);
  for (let i = 0; i < probabilities.length; i++) {
    if (!Number.isFinite(probabilities[i])) throw new RangeError(`probability ${i} (${EMOTIONS[i]}) is ${probabilities[i]}`);
  }
  return EMOTIONS[argmaxIndex(probabilities)]!;
}
