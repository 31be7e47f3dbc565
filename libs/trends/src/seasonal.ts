/**
 * Hour-of-day baseline of a pair, so a topic whose mood follows the clock (sadder evenings) does not alert every
 * evening.
 *
 * Additive Holt–Winters without trend (Winters 1960; Hyndman & Athanasopoulos, "Forecasting: Principles and
 * Practice", §8.3), with one twist for a 1,440-window period: the index S[h] of each UTC hour is learnt against a
 * slow, day-long level (y − L_day), since against the fast level it would learn nothing (a level with a
 * 10-window memory has already absorbed the hour's rhythm). The forecast is a fast level of the deseasonalised
 * shares (EWMA of y − S[h], same weight as the plain baseline, so news still moves it within minutes) plus the
 * hour's index: it follows a rhythm whose changes are abrupt (the evening starts at 18:00) as well as smooth,
 * which the plain EWMA only follows with a lag, and alerts on, at every step. It is used once the hour has
 * `SEASONAL_MIN_DAYS` days of windows; before that the plain EWMA baseline stands alone. Each index is a running
 * mean over its first `SEASONAL_MIN_DAYS` days, then an EWMA with that memory, so a changed rhythm is relearnt in
 * days, not weeks.
 */

export const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
export const SEASONAL_MIN_DAYS = 3;
export const SEASONAL_SLOTS = 24;

/** Plain JSON, persisted with the pair. */
export interface SeasonalState {
  /** Fast deseasonalised level (EWMA of y − S[h] with the baseline's weight); null before the first window. */
  level: number | null;
  /** Day-long deseasonalised level the indices are learnt against; null before the first window. */
  dayLevel: number | null;
  /** Windows folded into the day level (its first day is a running mean). */
  dayWindows: number;
  /** Seasonal index per UTC hour of the day. */
  index: number[];
  /** Usable windows seen in each hour (the index learns from those outside alert episodes). */
  windows: number[];
}

export const freshSeasonal = (): SeasonalState => ({
  level: null,
  dayLevel: null,
  dayWindows: 0,
  index: new Array<number>(SEASONAL_SLOTS).fill(0),
  windows: new Array<number>(SEASONAL_SLOTS).fill(0),
});

export const hourOfDay = (windowStart: number): number => Math.floor(windowStart / HOUR_MS) % SEASONAL_SLOTS;

/** Windows an hour slot needs before its index is used: that hour on `SEASONAL_MIN_DAYS` days. */
export const seasonalMinWindows = (windowMs: number): number => SEASONAL_MIN_DAYS * Math.max(1, Math.round(HOUR_MS / windowMs));

/** Hour-of-day only means something for windows of an hour or less. */
export const seasonalApplies = (windowMs: number): boolean => windowMs <= HOUR_MS;

/** The seasonal forecast and the hour's index for this window, or null while the hour is not learnt. */
export function seasonalForecast(state: SeasonalState, windowStart: number, windowMs: number): { forecast: number; index: number } | null {
  if (!seasonalApplies(windowMs) || state.level === null) return null;
  const hour = hourOfDay(windowStart);
  if ((state.windows[hour] ?? 0) < seasonalMinWindows(windowMs)) return null;
  const index = state.index[hour] ?? 0;
  return { forecast: state.level + index, index };
}

/**
 * Folds in one window's share. The level always follows (with the EWMA weight `alpha`), so a lasting change
 * ends its alert as the plain baseline does; the hour's index only learns when `learnIndex` (outside an alert
 * episode), from `observed` already clipped by the caller.
 */
export function foldSeasonal(state: SeasonalState, windowStart: number, windowMs: number, observed: number, alpha: number, learnIndex: boolean): void {
  if (!seasonalApplies(windowMs)) return;
  const hour = hourOfDay(windowStart);
  const index = state.index[hour] ?? 0;
  state.level = state.level === null ? observed - index : alpha * (observed - index) + (1 - alpha) * state.level;
  // An hour counts toward its `SEASONAL_MIN_DAYS` whether or not it learns: the evening that alerted on its
  // first days (before the rhythm was known) still counts as an evening seen.
  const seen = state.windows[hour] ?? 0;
  state.windows[hour] = seen + 1;
  if (!learnIndex) return;
  const dayWeight = Math.max(windowMs / DAY_MS, 1 / (state.dayWindows + 1));
  state.dayLevel = state.dayLevel === null ? observed - index : dayWeight * (observed - index) + (1 - dayWeight) * state.dayLevel;
  state.dayWindows += 1;
  const w = 1 / Math.min(seen + 1, seasonalMinWindows(windowMs));
  state.index[hour] = (1 - w) * index + w * (observed - state.dayLevel);
}
