/**
 * Every long-running process is run by the one service runtime (libs/core/src/runtime): this test starts the four
 * real processes on real Kafka and Redis and checks, from the outside, that they agree —
 * - one metric naming scheme (`moodstream_<component>_…`, plus the standard process/nodejs defaults), labelled by
 *   `service`, and the trends metrics named the same in the dashboard process and the standalone aggregator;
 * - one crash policy: one part inside each app is made to fail (SIGUSR2 with MOODSTREAM_FAULT_INJECTION=1 fails the
 *   part named by MOODSTREAM_FAULT_PART, exactly as the part's own crash callback would); every other part then
 *   closes gracefully, in reverse order of start, and the process exits non-zero.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createKafkaBus } from '@moodstream/bus';
import { TOPICS } from '@moodstream/events';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const suffix = randomBytes(4).toString('hex');
const topicPrefix = `runtime-int-${suffix}-`;
const redisPrefix = `runtime-int:${suffix}`;

interface ServiceUnderTest {
  service: string;
  /** The part the fault is injected into. */
  faultPart: string;
  args: string[];
  env: Record<string, string>;
}

const SERVICES: ServiceUnderTest[] = [
  { service: 'scorer', faultPart: 'scorer', args: ['apps/scorer/src/main.ts'], env: { SCORER_METRICS_PORT: '0' } },
  {
    service: 'ingester',
    faultPart: 'ingester',
    // Real time replay of the demo stream: it keeps running for hours, so it is alive when the fault comes.
    args: ['apps/ingester/src/main.ts', 'archive', '--file', 'data/demo/stream.ndjson', '--speed', '1'],
    env: { METRICS_PORT: '0' },
  },
  { service: 'aggregator', faultPart: 'trends', args: ['libs/trends/src/bin/aggregator.ts'], env: { TRENDS_METRICS_PORT: '0', TRENDS_GROUP_ID: `runtime-int-agg-${suffix}` } },
  { service: 'dashboard', faultPart: 'trends', args: ['apps/dashboard/src/main.ts'], env: { PORT: '0', TRENDS_GROUP_ID: `runtime-int-dash-${suffix}`, DASHBOARD_SOCKET_CHANNEL: `runtime-int-${suffix}` } },
];

interface Running {
  child: ChildProcess;
  output: () => string;
  base: string;
  exit: Promise<number | null>;
}

const children: ChildProcess[] = [];

async function start(spec: ServiceUnderTest): Promise<Running> {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', ...spec.args], {
    cwd: ROOT,
    env: {
      ...process.env,
      KAFKA_BROKERS,
      REDIS_URL,
      MOODSTREAM_TOPIC_PREFIX: topicPrefix,
      TRENDS_REDIS_PREFIX: redisPrefix,
      LOG_LEVEL: 'info',
      MOODSTREAM_FAULT_INJECTION: '1',
      MOODSTREAM_FAULT_PART: spec.faultPart,
      ...spec.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const end = Date.now() + 240_000;
  for (;;) {
    // The runtime logs where its ops routes are; the dashboard serves them on its web port.
    const port = /on port (\d+)\b/.exec(output)?.[1];
    const live = /live at (http:\/\/[^"\s]+)"/.exec(output)?.[1];
    const base = spec.service === 'dashboard' ? live : port === undefined ? undefined : `http://127.0.0.1:${port}`;
    if (base !== undefined) {
      const health = await fetch(`${base}/healthz`).catch(() => null);
      if (health?.status === 200) return { child, output: () => output, base, exit };
    }
    if (child.exitCode !== null) assert.fail(`${spec.service} exited early (${child.exitCode}):\n${output}`);
    if (Date.now() > end) assert.fail(`${spec.service} did not become healthy:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface LogLine {
  msg?: string;
  part?: string;
  level?: number;
}

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** Metric names and their `service` labels from a Prometheus text page. */
function metricSamples(text: string): { name: string; service: string | undefined }[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#'))
    .map((line) => ({ name: /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? line, service: /service="([^"]*)"/.exec(line)?.[1] }));
}

const NAMING = /^(moodstream_[a-z0-9]+_[a-z0-9_]+|process_[a-z0-9_]+|nodejs_[a-z0-9_]+)$/;

describe('one service runtime in every app (real Kafka and Redis)', { timeout: 600_000 }, () => {
  const trendsNames = new Map<string, Set<string>>();

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    const bus = createKafkaBus({ brokers: KAFKA_BROKERS.split(','), clientId: 'runtime-int-cleanup', topicPrefix });
    await bus.deleteTopics(Object.values(TOPICS)).catch(() => undefined);
    await bus.deleteGroups(SERVICES.map((s) => s.env['TRENDS_GROUP_ID']).filter((g): g is string => g !== undefined)).catch(() => undefined);
    await bus.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  for (const spec of SERVICES) {
    it(`${spec.service}: one metric naming scheme, and a failed ${spec.faultPart} closes the rest gracefully and exits non-zero`, async () => {
      const running = await start(spec);
      const metrics = await (await fetch(`${running.base}/metrics`)).text();
      const samples = metricSamples(metrics);
      assert.ok(samples.some((s) => s.name.startsWith(`moodstream_`)), 'the service exports its own metrics');
      for (const sample of samples) {
        assert.match(sample.name, NAMING, `${spec.service}: ${sample.name} does not follow moodstream_<component>_<what>`);
        assert.equal(sample.service, spec.service, `${spec.service}: ${sample.name} is labelled service="${sample.service}"`);
      }
      // Registered metrics, whether or not they have counted anything yet (a labelled counter has no sample until then).
      const registered = [...metrics.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1] ?? '');
      for (const name of registered) assert.match(name, NAMING, `${spec.service}: ${name} does not follow moodstream_<component>_<what>`);
      trendsNames.set(spec.service, new Set(registered.filter((n) => n.startsWith('moodstream_trends_'))));

      const health = (await (await fetch(`${running.base}/healthz`)).json()) as { ok: boolean; service: string; parts: Record<string, { state: string }> };
      assert.equal(health.service, spec.service);
      const parts = Object.keys(health.parts);
      assert.ok(parts.includes(spec.faultPart), `${spec.faultPart} is a part of ${spec.service}: ${parts.join(', ')}`);
      assert.ok(parts.length >= 2, `${spec.service} has parts to close: ${parts.join(', ')}`);

      running.child.kill('SIGUSR2');
      const code = await running.exit;
      assert.notEqual(code, 0, `${spec.service} exited ${code} after a part failed:\n${running.output()}`);
      assert.notEqual(code, null, `${spec.service} was killed instead of exiting:\n${running.output()}`);
      const lines = logLines(running.output());
      const fatal = lines.find((line) => line.level === 60 && line.part === spec.faultPart);
      assert.ok(fatal !== undefined, `the failure of ${spec.faultPart} is logged once as fatal`);
      const closed = lines.filter((line) => line.msg === `${line.part} closed`).map((line) => line.part);
      const others = parts.filter((part) => part !== spec.faultPart);
      assert.deepEqual(closed.filter((part) => part !== spec.faultPart), [...others].reverse(), `${spec.service}: every other part closed, last started first`);
    });
  }

  it('the trends metrics have the same names in the dashboard process and the standalone aggregator', () => {
    const dashboard = trendsNames.get('dashboard');
    const aggregator = trendsNames.get('aggregator');
    assert.ok(dashboard !== undefined && aggregator !== undefined, 'both processes were scraped');
    assert.ok(aggregator.size >= 3, `trends metrics: ${[...aggregator].join(', ')}`);
    assert.deepEqual([...dashboard].sort(), [...aggregator].sort());
  });
});
