/**
 * Start-up benchmark of `npm start` (embedded mode, bundled demo stream): from spawning the launcher
 * to the dashboard answering /healthz, to the first chart point (a non-empty 1-minute bucket from the
 * series API) and to the first alert (the planted mood shift). Not part of `npm test`.
 *
 *   node --import tsx bench/startup.ts [--runs 3] [--out FILE]
 *
 * Baseline in the same run: the bare launcher process (`npm start -- --help`: node + tsx + imports).
 * Prints a table and writes bench/results/startup.json (or FILE: a run on a busy machine that should not replace it).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { parseCommandLineOrExit, sleep } from '@moodstream/core';
import { loadDemoManifest } from '../scripts/demo/manifest';
import { spawnLauncher } from '../scripts/start/launcher-process';
import { REPO_ROOT } from '../scripts/start/paths';
import { median } from './stats';

const ALERT_TIMEOUT_MS = 5 * 60_000;

interface Run {
  liveMs: number;
  firstPointMs: number;
  firstAlertMs: number | null;
  alert: string | null;
  /** The alert the demo plants (data/demo/manifest.json: topic × emotion). */
  plantedAlertMs: number | null;
  /** The launcher's "history is scored" line: the start-up backlog of demo history worked off. */
  historyScoredMs: number | null;
  shutdownMs: number;
}

async function pollUntil<T>(probe: () => Promise<T | null>, timeoutMs: number): Promise<T | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    await sleep(200);
  }
  return null;
}

async function getJson(url: URL): Promise<unknown> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.pathname}: HTTP ${response.status}`);
  return response.json();
}

async function oneRun(planted: { topic: string; emotion: string }): Promise<Run> {
  const started = performance.now();
  const run = spawnLauncher({ env: { PORT: '0' } });
  try {
    const [, url = ''] = await run.waitFor(/dashboard live at (http:\/\/\S+)/, 120_000);
    let historyScoredAt: number | null = null;
    void run.waitFor(/history is scored/, ALERT_TIMEOUT_MS).then(
      () => (historyScoredAt = performance.now() - started),
      () => undefined,
    );
    await pollUntil(async () => ((await fetch(new URL('/healthz', url))).ok ? true : null), 30_000);
    const liveMs = performance.now() - started;
    const firstPoint = await pollUntil(async () => {
      const body = (await getJson(new URL('/api/series?topic=all&window=1m', url))) as { points: { count: number }[] };
      return body.points.some((p) => p.count > 0) ? true : null;
    }, ALERT_TIMEOUT_MS);
    if (firstPoint === null) throw new Error('no chart point within 5 minutes');
    const firstPointMs = performance.now() - started;
    let alert: string | null = null;
    let firstAlertMs: number | null = null;
    const plantedAlert = await pollUntil(async () => {
      const body = (await getJson(new URL('/api/alerts', url))) as { alerts: { topic: string; emotion: string; firedAt: number }[] };
      const oldest = [...body.alerts].sort((a, b) => a.firedAt - b.firedAt)[0];
      if (oldest !== undefined && alert === null) {
        alert = `${oldest.topic}/${oldest.emotion}`;
        firstAlertMs = performance.now() - started;
      }
      return body.alerts.some((a) => a.topic === planted.topic && a.emotion === planted.emotion) ? true : null;
    }, ALERT_TIMEOUT_MS);
    const plantedAlertMs = plantedAlert === null ? null : performance.now() - started;
    const historyScoredMs = await run
      .waitFor(/history is scored/, ALERT_TIMEOUT_MS)
      .then(() => historyScoredAt ?? performance.now() - started)
      .catch(() => null);
    const stopping = performance.now();
    run.child.kill('SIGINT');
    const code = await run.exit;
    if (code !== 0) throw new Error(`launcher exited ${code} on Ctrl-C:\n${run.output().slice(-2000)}`);
    return { liveMs, firstPointMs, firstAlertMs, alert, plantedAlertMs, historyScoredMs, shutdownMs: performance.now() - stopping };
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  }
}

async function baselineMs(): Promise<number> {
  const started = performance.now();
  const run = spawnLauncher({ args: ['--help'] });
  if ((await run.exit) !== 0) throw new Error(`launcher --help failed:\n${run.output()}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const { values } = parseCommandLineOrExit({
    command: 'npm run bench:startup',
    summary: 'npm start (embedded, bundled demo) from spawn to /healthz, first chart point and first alert, against the bare launcher process (npm start -- --help)',
    options: {
      runs: { type: 'number', default: 1, integer: true, positive: true, description: 'start-ups to measure (medians are quoted)' },
      out: { type: 'string', valueName: 'FILE', default: resolve(REPO_ROOT, 'bench/results/startup.json'), description: 'where the JSON goes (another file for a run on a busy machine that should not replace it)' },
    },
  });
  const runs = values.runs;
  const { plantedShift } = await loadDemoManifest(resolve(REPO_ROOT, 'data/demo/manifest.json'));
  const baselines: number[] = [];
  const results: Run[] = [];
  for (let i = 0; i < runs; i++) {
    baselines.push(await baselineMs());
    const result = await oneRun(plantedShift);
    results.push(result);
    console.error(`run ${i + 1}/${runs}: live ${(result.liveMs / 1000).toFixed(1)} s, first point ${(result.firstPointMs / 1000).toFixed(1)} s, first alert ${result.firstAlertMs === null ? 'none' : `${(result.firstAlertMs / 1000).toFixed(1)} s (${result.alert})`}, planted ${plantedShift.topic}/${plantedShift.emotion} alert ${result.plantedAlertMs === null ? 'none' : `${(result.plantedAlertMs / 1000).toFixed(1)} s`}`);
  }
  const base = median(baselines);
  const all = <T>(values: (T | null)[]): T[] | null => (values.every((v) => v !== null) ? (values as T[]) : null);
  const alerts = all(results.map((r) => r.firstAlertMs));
  const plantedAlerts = all(results.map((r) => r.plantedAlertMs));
  const historyScored = all(results.map((r) => r.historyScoredMs));
  const rows: [string, number | null][] = [
    ['launcher process alone (baseline)', base],
    ['npm start → dashboard live (/healthz 200)', median(results.map((r) => r.liveMs))],
    ['npm start → first chart point', median(results.map((r) => r.firstPointMs))],
    ['npm start → demo history scored', historyScored === null ? null : median(historyScored)],
    ['npm start → first alert (any)', alerts === null ? null : median(alerts)],
    [`npm start → planted alert (${plantedShift.topic}/${plantedShift.emotion})`, plantedAlerts === null ? null : median(plantedAlerts)],
    ['Ctrl-C → exited', median(results.map((r) => r.shutdownMs))],
  ];
  console.log(`\nnpm start, embedded mode, bundled demo stream — median of ${runs} run(s) on ${availableParallelism()} cores\n`);
  console.log('| measure | median (s) | × baseline |\n|---|---:|---:|');
  for (const [label, ms] of rows) console.log(`| ${label} | ${ms === null ? 'none' : (ms / 1000).toFixed(1)} | ${ms === null ? '' : (ms / base).toFixed(1)} |`);
  const out = resolve(values.out);
  await mkdir(resolve(out, '..'), { recursive: true });
  await writeFile(
    out,
    JSON.stringify(
      {
        measuredAt: new Date().toISOString(),
        machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
        runs: results,
        medianMs: Object.fromEntries(rows.map(([label, ms]) => [label, ms === null ? null : Math.round(ms)])),
        baselineMs: baselines,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`\nwrote ${out}`);
}

main().catch((error: unknown) => {
  console.error(`bench/startup failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
