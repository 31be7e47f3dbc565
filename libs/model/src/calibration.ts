/**
 * Temperature scaling (Guo et al. 2017): one scalar T dividing the logits, fitted on the dev split
 * by minimising negative log-likelihood. It leaves the argmax unchanged and makes averaged
 * probabilities usable as population shares.
 */
export function softmaxRow(logits: ArrayLike<number>, temperature = 1): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]! / temperature);
  const exps = Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i]! / temperature - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Mean NLL of the true labels at temperature t; logits row-major [n, k]. */
export function meanNll(logits: Float32Array, labels: readonly number[], k: number, t: number): number {
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = softmaxRow(logits.subarray(i * k, (i + 1) * k), t);
    total -= Math.log(Math.max(p[labels[i]!]!, 1e-12));
  }
  return total / Math.max(1, labels.length);
}

/** Golden-section search of log T in [log 0.05, log 20]; NLL is unimodal in T for fixed logits. */
export function fitTemperature(logits: Float32Array, labels: readonly number[], k: number): number {
  return fitTemperatureJoint([{ logits, labels }], k);
}

/** Logits and labels of one domain's dev split, for a fit shared across domains. */
export interface CalibrationGroup {
  logits: Float32Array;
  labels: readonly number[];
}

/**
 * One temperature for several domains (golden-section search of log T in [log 0.05, log 20]), fitted jointly: golden-section search minimising the mean over
 * domains of each domain's mean NLL, so a large domain cannot set T alone. The scorer does not know which
 * domain a stream post comes from, so one T that holds on every domain is what can be deployed.
 */
export function fitTemperatureJoint(groups: readonly CalibrationGroup[], k: number): number {
  const used = groups.filter((g) => g.labels.length > 0);
  if (used.length === 0) return 1;
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  const g = (Math.sqrt(5) - 1) / 2;
  const f = (x: number) => used.reduce((s, grp) => s + meanNll(grp.logits, grp.labels, k, Math.exp(x)), 0) / used.length;
  let a = hi - g * (hi - lo);
  let b = lo + g * (hi - lo);
  let fa = f(a);
  let fb = f(b);
  for (let iter = 0; iter < 60; iter++) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - g * (hi - lo);
      fa = f(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + g * (hi - lo);
      fb = f(b);
    }
  }
  return Math.exp((lo + hi) / 2);
}
