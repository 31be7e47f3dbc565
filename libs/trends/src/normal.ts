/**
 * Complementary error function with fractional error below 1.2e-7 everywhere (Chebyshev fit),
 * so tail probabilities stay accurate far out where Bonferroni-corrected thresholds live.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z ≥ z) for a standard normal Z: the one-sided p-value of a z statistic. */
export function upperTail(z: number): number {
  if (Number.isNaN(z)) return 1;
  if (z === Infinity) return 0;
  if (z === -Infinity) return 1;
  return Math.min(1, Math.max(0, 0.5 * erfc(z / Math.SQRT2)));
}

/** The z whose upper tail is p (bisection on upperTail; only used for reporting thresholds). */
export function upperQuantile(p: number): number {
  let lo = -40;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (upperTail(mid) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Two-sided 95% normal quantile. */
export const Z95 = 1.959963984540054;
