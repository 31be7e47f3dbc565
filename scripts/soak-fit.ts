/**
 * The soak's trend lines: least-squares slope of y over x, with its standard error, so a slope can be called flat
 * only when it is within its noise (a minute's RSS swings by tens of MB as V8 collects and commits).
 */
export interface LineFit {
  slope: number;
  /** Standard error of the slope: √(Σ residual² / (n − 2) / Σ (x − x̄)²); null below three points. */
  slopeError: number | null;
  points: number;
}

export function fitLine(points: readonly (readonly [number, number])[]): LineFit {
  const n = points.length;
  if (n < 2) return { slope: 0, slopeError: null, points: n };
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  if (sxx === 0) return { slope: 0, slopeError: null, points: n };
  const slope = sxy / sxx;
  if (n < 3) return { slope, slopeError: null, points: n };
  const residuals = points.reduce((s, [x, y]) => s + (y - my - slope * (x - mx)) ** 2, 0);
  return { slope, slopeError: Math.sqrt(residuals / (n - 2) / sxx), points: n };
}

export const perHour = (perMinute: number): number => Math.round(perMinute * 60 * 10) / 10;

/** A series (minute, MB) from `fromMinute` on: first and last, lowest and highest, slope and its standard error. */
export interface Trend {
  fromMb: number;
  toMb: number;
  minMb: number;
  maxMb: number;
  slopeMbPerHour: number;
  errorMbPerHour: number | null;
}

export function trend(series: readonly [number, number][], fromMinute: number): Trend {
  const kept = series.filter(([minute]) => minute >= fromMinute);
  const values = kept.map(([, mb]) => mb);
  const fit = fitLine(kept);
  return {
    fromMb: values[0] ?? 0,
    toMb: values.at(-1) ?? 0,
    minMb: values.length === 0 ? 0 : Math.min(...values),
    maxMb: values.length === 0 ? 0 : Math.max(...values),
    slopeMbPerHour: perHour(fit.slope),
    errorMbPerHour: fit.slopeError === null ? null : perHour(fit.slopeError),
  };
}
