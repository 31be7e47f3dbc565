import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { sleep } from '@moodstream/core';
import { ALL_TOPICS, AlertsResponseSchema, ReplayStatusSchema, ReplaysResponseSchema, SeriesUpdateSchema, type ReplayStatus } from '@moodstream/events';
import { ensureNextBuild } from '@moodstream/dashboard';
import { startChildren, type Children } from '../../scripts/start/children';
import { freePort } from '../support/free-port';
import { ROOT } from '../support/ingester-harness';
import { trendsEnv } from './pipeline';
import type { Scenario, ScenarioContext } from './scenarios';

/**
 * "two dashboards": two dashboard processes on the scenario's Redis and Kafka beside the pipeline. A serves only
 * (DASHBOARD_AGGREGATE=0); B aggregates in the aggregator's consumer group (so it holds at least one of the three
 * partitions). Checked: a browser-like client watching A receives live bucket pushes (B's, relayed through Redis);
 * both list the same alerts; a replay started on A is read, paused, resumed and stopped through B (replay state in
 * Redis, libs/trends/src/replay-registry-redis.ts) and ends 'stopped'; and, as in every scenario, the live counts
 * equal the ground truth (B's consuming must not count a post twice).
 */

interface Dashboards {
  children: Children;
  a: string;
  b: string;
  /** Series pushes the client watching A received. */
  pushes: () => number;
  socket: Socket;
}

let running: Dashboards | null = null;

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(200);
  }
}

async function api<T>(base: string, path: string, parse: (body: unknown) => T, init?: RequestInit): Promise<{ status: number; body: T | null; raw: unknown }> {
  const res = await fetch(`${base}${path}`, { ...init, ...(init?.body === undefined ? {} : { headers: { 'content-type': 'application/json' } }) });
  const raw: unknown = await res.json();
  return { status: res.status, body: res.ok ? parse(raw) : null, raw };
}

const replayAt = (base: string, id: string, action?: 'pause' | 'resume' | 'stop') =>
  api(base, `/api/replays/${encodeURIComponent(id)}${action === undefined ? '' : `/${action}`}`, (b) => ReplayStatusSchema.parse(b), action === undefined ? undefined : { method: 'POST' });

async function startDashboards(ctx: ScenarioContext): Promise<Dashboards> {
  const [portA, portB] = [await freePort(), await freePort()];
  const logFile = join(ROOT, '.cache', 'reliability', `${ctx.id}-dashboards.log`);
  const common = {
    KAFKA_BROKERS: ctx.services.kafkaBrokers,
    REDIS_URL: ctx.services.redisUrl,
    MOODSTREAM_TOPIC_PREFIX: `${ctx.id}.`,
    // Info: the log shows each replay's start and end ('replay finished') beside any warning.
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    ...trendsEnv({ id: ctx.id }),
    DASHBOARD_SOCKET_CHANNEL: `${ctx.id}-dashboard`,
    TRENDS_GROUP_ID: `${ctx.id}-trends`,
  };
  const children = startChildren(
    [
      { name: 'dashboard-a', args: ['apps/dashboard/src/main.ts'], env: { ...common, PORT: String(portA), DASHBOARD_AGGREGATE: '0' } },
      { name: 'dashboard-b', args: ['apps/dashboard/src/main.ts'], env: { ...common, PORT: String(portB), DASHBOARD_AGGREGATE: '1' } },
    ],
    { cwd: ROOT, write: (line) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`), restart: { maxRestarts: 3, windowMs: 60_000, initialDelayMs: 500, maxDelayMs: 2_000 } },
  );
  const a = `http://127.0.0.1:${portA}`;
  const b = `http://127.0.0.1:${portB}`;
  try {
    for (const base of [a, b]) await until(`${base}/readyz`, async () => (await fetch(`${base}/readyz`)).ok, 120_000);
  } catch (error) {
    await children.stop(10_000);
    throw error;
  }
  let pushes = 0;
  const socket = connect(a, { transports: ['websocket'], forceNew: true });
  socket.on('series', (payload: unknown) => {
    if (SeriesUpdateSchema.safeParse(payload).success) pushes += 1;
  });
  socket.on('connect', () => socket.emit('watch', { topic: ALL_TOPICS, window: '1m' }));
  ctx.note(`dashboards up: A ${a} (serves only), B ${b} (aggregates), log ${logFile}`);
  return { children, a, b, socket, pushes: () => pushes };
}

/** Stops the dashboards if a scenario left them running (the suite calls it after each scenario). */
export async function stopDashboards(): Promise<void> {
  const dashboards = running;
  running = null;
  if (dashboards === null) return;
  dashboards.socket.close();
  await dashboards.children.stop(20_000);
}

/** Replay control through the other instance: the checks of the issue, each a failure when it does not hold. */
async function steerReplayAcross(ctx: ScenarioContext, d: Dashboards, range: { from: number; to: number }): Promise<string[]> {
  const failures: string[] = [];
  const check = (ok: boolean, what: string): void => {
    if (!ok) failures.push(what);
  };
  // The stream's 20 minutes at 20× real time: about a minute of playback, longer than the steering below.
  const started = await api(d.a, '/api/replays', (b) => ReplayStatusSchema.parse(b), { method: 'POST', body: JSON.stringify({ topic: ALL_TOPICS, ...range, speed: 20 }) });
  if (started.body === null) return [`starting a replay on A answered ${started.status}: ${JSON.stringify(started.raw)}`];
  const id = started.body.id;
  const viaB = await replayAt(d.b, id);
  check(viaB.status === 200, `B answered ${viaB.status} for A's replay (was 404 with per-process replay state)`);
  check(viaB.body?.startedBy === started.body.startedBy, 'B names the instance that runs it');
  // Loading comes first (reading the range back from Kafka); on a loaded machine that takes a while.
  let last: ReplayStatus | null = null;
  try {
    await until('the replay to play (read through B)', async () => {
      last = (await replayAt(d.b, id)).body;
      return (last?.progress ?? 0) > 0.05;
    }, 240_000);
  } catch (error) {
    return [`${error instanceof Error ? error.message : String(error)}; last status through B: ${JSON.stringify(last)}`];
  }

  const paused = await replayAt(d.b, id, 'pause');
  check(paused.body?.state === 'paused', `pause through B answered ${paused.status} ${paused.body?.state ?? JSON.stringify(paused.raw)}`);
  await sleep(1_000);
  const onA = await replayAt(d.a, id);
  check(onA.body?.state === 'paused', `A shows ${onA.body?.state ?? onA.status} after B paused it`);
  const frozen = (await replayAt(d.b, id)).body?.cursor;
  await sleep(2_000);
  const later = (await replayAt(d.a, id)).body?.cursor;
  check(frozen !== undefined && later === frozen, `the runner kept playing while paused (cursor ${frozen} → ${later})`);

  const resumed = await replayAt(d.b, id, 'resume');
  check(resumed.body?.state === 'running', `resume through B answered ${resumed.body?.state ?? resumed.status}`);
  await until('the cursor to move again', async () => ((await replayAt(d.a, id)).body?.cursor ?? 0) > (frozen ?? Infinity), 30_000).catch((error: unknown) => check(false, String(error)));

  const stopping = await replayAt(d.b, id, 'stop');
  check(stopping.status === 200, `stop through B answered ${stopping.status}`);
  let final: ReplayStatus | null = null;
  await until('the replay to end as stopped', async () => {
    final = (await replayAt(d.a, id)).body;
    return final !== null && final.state !== 'running' && final.state !== 'paused';
  }, 30_000).catch((error: unknown) => check(false, String(error)));
  const end = final as ReplayStatus | null;
  check(end?.state === 'stopped', `the replay ended ${end?.state ?? 'unknown'} (expected stopped)`);
  const listed = await api(d.b, '/api/replays', (b) => ReplaysResponseSchema.parse(b));
  check(listed.body?.replays.some((r) => r.id === id) === true, "B's list holds A's replay");
  ctx.note(`replay ${id} started on A (${started.body.startedBy}), paused/resumed/stopped via B: ended ${end?.state ?? '?'} at ${((end?.progress ?? 0) * 100).toFixed(0)}%, ${end?.processed ?? 0} posts loaded`);
  return failures;
}

export const twoDashboards: Scenario = {
  name: 'two-dashboards on one Redis',
  expectPlantedAlert: true,
  async prepare() {
    // Built before the pipeline starts, so both dashboards come up while the stream is still being revealed.
    await ensureNextBuild({ onProgress: (line) => console.log(`  ${line}`) });
  },
  async during(ctx) {
    running = await startDashboards(ctx);
  },
  async after(ctx) {
    const failures: string[] = [];
    const d = running;
    if (d === null) throw new Error('the dashboards did not start');
    try {
      if (d.pushes() === 0) failures.push('the client watching A received no live pushes');
      const [alertsA, alertsB] = await Promise.all([d.a, d.b].map((base) => api(base, '/api/alerts?limit=100', (b) => AlertsResponseSchema.parse(b))));
      const ids = (r: typeof alertsA) => (r?.body?.alerts ?? []).map((x) => x.id).sort().join(',');
      if (alertsA?.status !== 200 || alertsB?.status !== 200) failures.push(`alerts answered ${alertsA?.status} on A, ${alertsB?.status} on B`);
      else if (ids(alertsA) !== ids(alertsB)) failures.push('A and B list different alerts');
      ctx.note(`client on A got ${d.pushes()} live pushes; alerts listed on A ${alertsA?.body?.alerts.length ?? '?'}, on B ${alertsB?.body?.alerts.length ?? '?'}`);
      failures.push(...(await steerReplayAcross(ctx, d, ctx.range)));
    } catch (error) {
      failures.push(error instanceof Error ? error.message : String(error));
    } finally {
      await stopDashboards();
    }
    // Reported as the scenario's failures; the live counts are measured all the same.
    for (const failure of failures) ctx.fail(failure);
  },
};

/** The suite's SIGINT handler: the dashboards sit in process groups of their own and must not outlive it. */
export function killDashboards(): void {
  running?.children.kill();
}
