import { argmaxIndex } from '@moodstream/events';

/** One confidence bin of a reliability diagram: mean confidence against accuracy of the rows that fell in it. */
export interface ReliabilityBin {
  from: number;
  to: number;
  n: number;
  /** Mean top-class probability in the bin (null when empty). */
  confidence: number | null;
  /** Share of the bin's rows whose top class is the label (null when empty). */
  accuracy: number | null;
}

/**
 * Reliability diagram data (Guo et al. 2017): 10 equal-width bins of the top-class probability — the
 * same bins `evaluate` sums into its ECE, so the diagram and the number agree.
 */
export function reliabilityDiagram(probabilities: ReadonlyArray<ArrayLike<number>>, labels: readonly number[], bins = 10): ReliabilityBin[] {
  const acc = Array.from({ length: bins }, () => ({ n: 0, conf: 0, correct: 0 }));
  labels.forEach((y, i) => {
    const p = probabilities[i]!;
    const best = argmaxIndex(p);
    const conf = p[best]!;
    const bin = acc[Math.max(0, Math.min(bins - 1, Math.floor(conf * bins)))]!;
    bin.n++;
    bin.conf += conf;
    bin.correct += best === y ? 1 : 0;
  });
  return acc.map((b, i) => ({ from: i / bins, to: (i + 1) / bins, n: b.n, confidence: b.n === 0 ? null : b.conf / b.n, accuracy: b.n === 0 ? null : b.correct / b.n }));
}
