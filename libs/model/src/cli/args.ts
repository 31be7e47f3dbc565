import { ConfigError } from '@moodstream/core';

/** Reads a numeric CLI flag, with a readable error instead of NaN creeping into training. */
export function numberFlag(values: Record<string, unknown>, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new ConfigError(`--${name} must be a number, got '${String(raw)}'`);
  return n;
}
