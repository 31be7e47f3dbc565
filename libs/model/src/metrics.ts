import { argmaxIndex, EMOTION_COUNT, EMOTIONS } from '@moodstream/events';

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Evaluation {
  n: number;
  accuracy: number;
  macroF1: number;
  /** Expected calibration error, 10 equal-width confidence bins. */
  ece: number;
  perClass: ClassMetrics[];
  /** rows = true class, columns = predicted class. */
  confusion: number[][];
}

/** Scores predictions (argmax of probabilities) against labels. probabilities: one row per example. */
export function evaluate(probabilities: ReadonlyArray<ArrayLike<number>>, labels: readonly number[], k = EMOTION_COUNT): Evaluation {
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, correct: 0 }));
  let correct = 0;
  labels.forEach((y, i) => {
    const p = probabilities[i]!;
    const best = argmaxIndex(p);
    confusion[y]![best]!++;
    if (best === y) correct++;
    const conf = p[best]!;
    const bin = bins[Math.max(0, Math.min(9, Math.floor(conf * 10)))]!;
    bin.n++;
    bin.conf += conf;
    bin.correct += best === y ? 1 : 0;
  });
  const n = labels.length;
  const perClass = Array.from({ length: k }, (_, c) => {
    const tp = confusion[c]![c]!;
    const predicted = confusion.reduce((s, row) => s + row[c]!, 0);
    const support = confusion[c]!.reduce((s, v) => s + v, 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { label: EMOTIONS[c] ?? String(c), precision, recall, f1, support };
  });
  const present = perClass.filter((c) => c.support > 0);
  const macroF1 = present.length === 0 ? 0 : present.reduce((s, c) => s + c.f1, 0) / present.length;
  const ece = n === 0 ? 0 : bins.reduce((s, b) => s + (b.n === 0 ? 0 : (b.n / n) * Math.abs(b.conf / b.n - b.correct / b.n)), 0);
  return { n, accuracy: n === 0 ? 0 : correct / n, macroF1, ece, perClass, confusion };
}
