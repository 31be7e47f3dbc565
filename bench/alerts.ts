/**
 * Operating characteristics of the spike detector (not part of `npm test`; virtual time, no services):
 *
 *   npm run bench:alerts                 # 3 seeds (a few minutes on one core)
 *   npm run bench:alerts -- --seeds 10   # the full run published in docs/alerts.md
 *   options: --seeds N  --warmup-days D (history before the measured day, default 3)  --only <scenario prefix>
 *
 * 5 topics × 1-minute windows, D days of history then one measured day, at 60, 300 and 2,000 posts per minute
 * per topic. Windows are drawn as their sufficient statistics (`sampleWindowStats`), which is what the
 * detector reads. Each scenario runs twice on identical streams (same seed): "before" is the detector with
 * sampling variance only (today's statistic before issue 11), "after" the shipped defaults.
 *
 * - Stationary (no real change; every alert is false): binomial (sampling noise only), overdispersed (every
 *   share jitters by 10% / 20% of its value between windows), diurnal (sad swings ±30% of its share over the
 *   day, peak 21:00 UTC, plus 10% jitter) and, beyond the issue, an evening step (sad 1.5× from 18:00 UTC, plus
 *   10% jitter). Reported: false alerts per measured day across the 5 topics.
 * - Shifts (under 10% jitter): the 10% emotion (disgusted) — and apart, a 3% one (scared) — rises to 1.5×, 2×
 *   or 3× its share for 3, 5 or 10 windows, 12 times per topic in the measured day (2 h apart, so cool-down
 *   never masks one). Detected = the pair fires during the shift; delay = windows from the shift's first window
 *   to the firing one, counting both (the `for:` of 2 windows makes 2 the least possible).
 * Writes bench/results/alerts.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fnv1a32, parseCommandLineOrExit, seededRandom } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import {
  BASELINE_SHARES,
  detectorSettings,
  sampleCount,
  sampleWindowStats,
  SpikeDetector,
  trendsConfig,
  windowShares,
  type BucketStats,
  type DetectorSettings,
} from '@moodstream/trends';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'alerts.json');
const MINUTE = 60_000;
const DAY_WINDOWS = 1_440;
const T0 = Date.UTC(2026, 0, 5);
const TOPICS = ['t1', 't2', 't3', 't4', 't5'];
const VOLUMES = [60, 300, 2_000];
const CONCENTRATION = 5;
const SHIFT_EVERY = 120;

const { values: args } = parseCommandLineOrExit({
  command: 'npm run bench:alerts',
  summary: 'operating characteristics of the spike detector: false alerts on stationary streams, detection delay of planted shifts (virtual time, no services)',
  options: {
    seeds: { type: 'number', default: 3, integer: true, positive: true, description: 'seeds per scenario (10 for the run published in docs/alerts.md)' },
    'warmup-days': { type: 'number', default: 3, integer: true, nonNegative: true, description: 'days of history before the measured day' },
    only: { type: 'string', valueName: 'PREFIX', default: '', description: 'only scenarios whose name starts with this' },
  },
  examples: ['npm run bench:alerts -- --seeds 10'],
});
const SEEDS = args.seeds;
const WARMUP_DAYS = args['warmup-days'];

const SAD = EMOTIONS.indexOf('sad');
const DISGUSTED = EMOTIONS.indexOf('disgusted');
const SCARED = EMOTIONS.indexOf('scared');
/** The baseline mood with scared at 3% (the 2 points go to happy). */
const LOW_SHARES = BASELINE_SHARES.map((s, i) => (i === SCARED ? 0.03 : i === 0 ? s + 0.02 : s));

interface Scenario {
  name: string;
  kind: 'stationary' | 'shift';
  base: readonly number[];
  jitter: number;
  focus: number;
  /** Multiplier of the focus share at a minute of the simulation, and whether a planted shift is on. */
  multiplier: (minute: number, topic: number) => number;
  shift?: { factor: number; windows: number; baseShare: number };
}

const plain = (name: string, jitter: number): Scenario => ({ name, kind: 'stationary', base: BASELINE_SHARES, jitter, focus: DISGUSTED, multiplier: () => 1 });

/** Shift starts: minutes into the measured day, staggered per topic. */
const shiftStart = (minute: number, topic: number): number | null => {
  const measured = minute - WARMUP_DAYS * DAY_WINDOWS;
  if (measured < 0) return null;
  const offset = measured - 30 - topic * 7;
  if (offset < 0) return null;
  return minute - (offset % SHIFT_EVERY);
};

function shift(baseShare: number, factor: number, windows: number): Scenario {
  const low = baseShare < 0.1;
  return {
    name: `shift ${baseShare * 100}% ×${factor} for ${windows}`,
    kind: 'shift',
    base: low ? LOW_SHARES : BASELINE_SHARES,
    jitter: 0.1,
    focus: low ? SCARED : DISGUSTED,
    multiplier: (minute, topic) => {
      const start = shiftStart(minute, topic);
      return start !== null && minute - start < windows ? factor : 1;
    },
    shift: { factor, windows, baseShare },
  };
}

const DIURNAL: Scenario = {
  name: 'diurnal ±30% + 0.1',
  kind: 'stationary',
  base: BASELINE_SHARES,
  jitter: 0.1,
  focus: SAD,
  // Peak at 21:00 UTC: sin(2π(h − 15)/24) is 1 at h = 21.
  multiplier: (minute) => 1 + 0.3 * Math.sin((2 * Math.PI * (((minute / 60) % 24) - 15)) / 24),
};

/** An abrupt rhythm: sad is 1.5× its share from 18:00 to midnight UTC every day. */
const EVENING: Scenario = { ...DIURNAL, name: 'evening step ×1.5 + 0.1', multiplier: (minute) => ((minute / 60) % 24 >= 18 ? 1.5 : 1) };

const SCENARIOS: Scenario[] = [
  plain('binomial', 0),
  plain('overdispersed 0.1', 0.1),
  plain('overdispersed 0.2', 0.2),
  DIURNAL,
  EVENING,
  ...[0.1, 0.03].flatMap((share) => [1.5, 2, 3].flatMap((factor) => [3, 5, 10].map((windows) => shift(share, factor, windows)))),
].filter((s) => s.name.startsWith(args.only));

interface Row {
  scenario: string;
  volume: number;
  detector: string;
  seeds: number;
  falseAlertsPerDay?: number;
  trials?: number;
  detectionRate?: number;
  detectedWithin3?: number;
  medianDelay?: number | null;
  p95Delay?: number | null;
}

const quantile = (sorted: number[], q: number): number | null =>
  sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null);

function run(scenario: Scenario, volume: number, settings: DetectorSettings, seed: number) {
  const random = seededRandom(fnv1a32(`${scenario.name}|${volume}|${seed}`));
  const detector = new SpikeDetector(settings);
  const total = (WARMUP_DAYS + 1) * DAY_WINDOWS;
  let falseAlerts = 0;
  const delays: number[] = [];
  let trials = 0;
  for (let minute = 0; minute < total; minute++) {
    const windows = new Map<string, BucketStats | null>();
    TOPICS.forEach((topic, t) => {
      const shares = windowShares({ base: scenario.base, jitter: scenario.jitter, focus: scenario.focus, multiplier: scenario.multiplier(minute, t) }, random);
      windows.set(topic, sampleWindowStats({ shares, count: sampleCount(volume, random), concentration: CONCENTRATION }, random));
    });
    const verdicts = detector.evaluate(T0 + minute * MINUTE, MINUTE, windows);
    if (minute < WARMUP_DAYS * DAY_WINDOWS) continue;
    for (const verdict of verdicts) {
      if (!verdict.fires) continue;
      const t = TOPICS.indexOf(verdict.topic);
      const start = shiftStart(minute, t);
      const inShift = scenario.shift !== undefined && verdict.emotionIndex === scenario.focus && start !== null && minute - start < scenario.shift.windows;
      if (inShift && start !== null) delays.push(minute - start + 1);
      else falseAlerts += 1;
    }
    if (scenario.shift !== undefined) TOPICS.forEach((_, t) => (trials += shiftStart(minute, t) === minute ? 1 : 0));
  }
  return { falseAlerts, delays, trials };
}

function measure(scenario: Scenario, volume: number, name: string, settings: DetectorSettings): Row {
  let falseAlerts = 0;
  let trials = 0;
  const delays: number[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = run(scenario, volume, settings, seed);
    falseAlerts += result.falseAlerts;
    trials += result.trials;
    delays.push(...result.delays);
  }
  const row: Row = { scenario: scenario.name, volume, detector: name, seeds: SEEDS };
  if (scenario.kind === 'stationary') {
    row.falseAlertsPerDay = falseAlerts / SEEDS;
    return row;
  }
  delays.sort((a, b) => a - b);
  row.trials = trials;
  row.detectionRate = delays.length / trials;
  row.detectedWithin3 = delays.filter((d) => d <= 3).length / trials;
  row.medianDelay = quantile(delays, 0.5);
  row.p95Delay = quantile(delays, 0.95);
  return row;
}

const config = trendsConfig();
const DETECTORS: Record<string, DetectorSettings> = {
  before: { ...detectorSettings(config), overdispersion: false, seasonal: false },
  after: detectorSettings(config),
};

const started = Date.now();
const rows: Row[] = [];
for (const scenario of SCENARIOS) {
  for (const volume of VOLUMES) {
    for (const [name, settings] of Object.entries(DETECTORS)) rows.push(measure(scenario, volume, name, settings));
  }
}

const fmt = (x: number | null | undefined, digits = 2): string => (x === null || x === undefined ? '–' : x.toFixed(digits));
const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(0)}%`);
const lines: string[] = [];
lines.push('| scenario | posts/min/topic | false alerts/day before | after |');
lines.push('|---|---:|---:|---:|');
for (const scenario of SCENARIOS.filter((s) => s.kind === 'stationary')) {
  for (const volume of VOLUMES) {
    const find = (d: string) => rows.find((r) => r.scenario === scenario.name && r.volume === volume && r.detector === d);
    lines.push(`| ${scenario.name} | ${volume} | ${fmt(find('before')?.falseAlertsPerDay)} | ${fmt(find('after')?.falseAlertsPerDay)} |`);
  }
}
lines.push('');
lines.push('| shift (10% jitter) | posts/min/topic | detected before | after | within 3 windows before | after | median / p95 delay before | after |');
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const scenario of SCENARIOS.filter((s) => s.kind === 'shift')) {
  for (const volume of VOLUMES) {
    const find = (d: string) => rows.find((r) => r.scenario === scenario.name && r.volume === volume && r.detector === d);
    const b = find('before');
    const a = find('after');
    lines.push(
      `| ${scenario.name} | ${volume} | ${pct(b?.detectionRate)} | ${pct(a?.detectionRate)} | ${pct(b?.detectedWithin3)} | ${pct(a?.detectedWithin3)} | ${fmt(b?.medianDelay, 0)} / ${fmt(b?.p95Delay, 0)} | ${fmt(a?.medianDelay, 0)} / ${fmt(a?.p95Delay, 0)} |`,
    );
  }
}
const table = lines.join('\n');
console.log(table);
const seconds = (Date.now() - started) / 1000;
console.log(`\n${SEEDS} seeds, ${WARMUP_DAYS} warm-up days + 1 measured day, ${seconds.toFixed(0)} s`);
await mkdir(path.dirname(RESULTS), { recursive: true });
await writeFile(
  RESULTS,
  `${JSON.stringify({ seeds: SEEDS, warmupDays: WARMUP_DAYS, topics: TOPICS.length, volumes: VOLUMES, settings: DETECTORS, seconds, rows, table }, null, 2)}\n`,
);
