import fc from 'fast-check';
import { cpuMs } from './cpu-time';

/**
 * How hard the fuzzers push. CI runs a bounded budget (every fuzz file well under a minute together on 2 cores);
 * FUZZ_RUNS=10 runs ten times as many inputs, FUZZ_SEED=<n> replays a failure (fast-check prints the seed and
 * the shrunk counterexample when a property fails).
 */
export const FUZZ_SCALE = Math.max(0.01, Number(process.env['FUZZ_RUNS'] ?? 1) || 1);
const seedText = process.env['FUZZ_SEED'];
const SEED = seedText === undefined || seedText === '' ? undefined : Number(seedText);

/** Per-input limit on the CPU time one parse may cost us. */
export const FUZZ_INPUT_LIMIT_MS = 100;

export function fuzzParams(runs: number): fc.Parameters<unknown> {
  return { numRuns: Math.max(1, Math.round(runs * FUZZ_SCALE)), ...(SEED === undefined ? {} : { seed: SEED }), verbose: 1 };
}

/** How many times an input over the limit is measured before it fails (the least measurement counts). */
const MEASUREMENTS = 3;

/**
 * Runs `fn` and fails the property when it cost more CPU than the per-input limit. The CPU is the whole process's
 * (process.cpuUsage), so V8's helper threads collecting an earlier input's garbage, or a slow moment of a shared
 * host, can land on one measurement: an input over the limit is run again, up to MEASUREMENTS times in all, and its
 * least cost is the one judged and kept in `stats` — a parser that is slow on an input is slow every time.
 */
export function withinLimit<T>(what: string, fn: () => T, stats?: { worstMs: number }): T {
  let { value, ms } = cpuMs(fn);
  for (let run = 1; run < MEASUREMENTS && ms > FUZZ_INPUT_LIMIT_MS; run++) {
    const again = cpuMs(fn);
    if (again.ms < ms) ({ value, ms } = again);
  }
  if (stats !== undefined && ms > stats.worstMs) stats.worstMs = ms;
  if (ms > FUZZ_INPUT_LIMIT_MS) {
    throw new Error(`${what} took ${ms.toFixed(1)} ms of CPU on one input (limit ${FUZZ_INPUT_LIMIT_MS} ms; the least of ${MEASUREMENTS} measurements)`);
  }
  return value;
}
