/**
 * How much a topic × emotion share really moves between windows, beyond sampling noise.
 *
 * A window's share y differs from its forecast ŷ by sampling noise (σ²/n, known from the window itself), by the
 * forecast's own noise, and by the share's real movement from window to window (news, reblog bursts, bots):
 * Var(y − ŷ) = σ²/n + Var(ŷ) + τ². τ² is estimated by the method of moments, as DerSimonian & Laird (1986) do
 * for between-study variance: the mean of (y − ŷ)² − σ²/n − Var(ŷ), truncated at 0 — here an exponentially
 * weighted mean (as RiskMetrics, 1996, tracks a variance), so it follows a topic whose jitter changes.
 * The movement is taken as relative to the share (τ = cv · ŷ, a multiplicative jitter): a share that doubles in
 * the evening moves twice as much in absolute terms, so everything here is in units of ŷ (the caller divides the
 * residual by ŷ and the known variance by ŷ²), and the estimate is the squared coefficient of variation cv².
 * Each squared residual is capped at `CAP²` times the current total variance (a Huber-type clip), so one wild
 * window does not double the estimate; for normal residuals the cap biases it down by only 0.5%.
 */

/** Residuals beyond this many standard deviations count as this many (Huber clip). */
export const DISPERSION_CAP = 3;

/** Plain JSON, persisted with the pair. */
export interface DispersionState {
  /** EWMA of the excess squared residual (may be negative: the truncation happens when it is used). */
  excess: number;
  /** Residuals folded in so far (the first ones are a plain mean, so the estimate has no start-up bias). */
  windows: number;
}

export const freshDispersion = (): DispersionState => ({ excess: 0, windows: 0 });

/** The between-window variance in use, in units of the forecast squared (never negative). */
export const betweenVariance = (state: DispersionState): number => Math.max(0, state.excess);

/**
 * Folds in one window's forecast error. `known` = σ²/n + Var(ŷ) of that window; `weight` is the EWMA weight
 * once past the start-up (the first 1/weight residuals are averaged with equal weight).
 */
export function foldResidual(state: DispersionState, residual: number, known: number, weight: number): DispersionState {
  const total = known + betweenVariance(state);
  const squared = state.windows === 0 ? residual * residual : Math.min(residual * residual, DISPERSION_CAP * DISPERSION_CAP * total);
  const w = Math.max(weight, 1 / (state.windows + 1));
  return { excess: (1 - w) * state.excess + w * (squared - known), windows: state.windows + 1 };
}
