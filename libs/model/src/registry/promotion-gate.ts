/** A model's numbers on one evaluation slice (a fixed dev set, or the time-held-out newest posts). */
export interface SliceScore {
  n: number;
  accuracy: number;
  macroF1: number;
  ece: number;
}

export interface GateMargins {
  /** How far below the current model's macro-F1 (and accuracy) a candidate may be on a slice and still pass; per slice, else `default`. */
  default: number;
  perSlice?: Record<string, number>;
}

export interface SliceVerdict {
  slice: string;
  current: SliceScore;
  candidate: SliceScore;
  deltaMacroF1: number;
  deltaAccuracy: number;
  margin: number;
  pass: boolean;
}

export interface PromotionDecision {
  promote: boolean;
  verdicts: SliceVerdict[];
  /** Why it was refused: the slices that failed, in words. Empty when promoted. */
  refusedBecause: string[];
}

/**
 * The promotion rule: a candidate replaces the current model only when it is no worse on every slice —
 * macro-F1 and accuracy each at least the current one's minus the slice's margin. A gain on one slice
 * never pays for a loss on another; a slice the current model was not measured on is a refusal.
 */
export function decidePromotion(current: Record<string, SliceScore>, candidate: Record<string, SliceScore>, margins: GateMargins): PromotionDecision {
  const verdicts: SliceVerdict[] = [];
  const refusedBecause: string[] = [];
  const slices = [...new Set([...Object.keys(current), ...Object.keys(candidate)])].sort();
  if (slices.length === 0) refusedBecause.push('no evaluation slices');
  for (const slice of slices) {
    const cur = current[slice];
    const cand = candidate[slice];
    if (!cur || !cand) {
      refusedBecause.push(`${slice}: not measured on both models`);
      continue;
    }
    const margin = margins.perSlice?.[slice] ?? margins.default;
    const deltaMacroF1 = cand.macroF1 - cur.macroF1;
    const deltaAccuracy = cand.accuracy - cur.accuracy;
    const pass = deltaMacroF1 >= -margin && deltaAccuracy >= -margin;
    verdicts.push({ slice, current: cur, candidate: cand, deltaMacroF1, deltaAccuracy, margin, pass });
    if (!pass) refusedBecause.push(`${slice}: macro-F1 ${cur.macroF1.toFixed(3)} → ${cand.macroF1.toFixed(3)}, accuracy ${cur.accuracy.toFixed(3)} → ${cand.accuracy.toFixed(3)} (margin ${margin})`);
  }
  return { promote: refusedBecause.length === 0, verdicts, refusedBecause };
}
