/**
 * `npm run soak` (outside CI): offers a steady stream of posts to the running pipeline — about 110 posts/s, one in ten
 * with an image from a local image host — for a while, in the embedded and in the distributed mode, and samples each
 * minute: the resident memory of every process, the pipeline backlog and the p99 latency from producing a post to
 * the dashboard pushing a chart update that counts it. Prints a table and writes bench/results/soak.json.
 *
 *   npm run soak                                   both modes, 30 minutes each
 *   npm run soak -- --minutes 5 --mode embedded    shorter, one mode
 *   SOAK_RATE=110 SOAK_IMAGE_SHARE=0.1 SOAK_SAMPLE_SECONDS=60 SOAK_WARMUP_MINUTES=16
 *   SOAK_HEAP_SNAPSHOTS=5,11    embedded: write heap snapshots of this process at those minutes (they pause it, and
 *                               its RSS after the first is not comparable with RSS before: see `heapSnapshotsAt`)
 *   MEMORY_BUS_RETENTION_MB=16  embedded: the in-memory bus's cap per topic (npm start's setting; default 64)
 *   MEMORY_TRENDS_HISTORY_MB=128 embedded: the trends history's budget (npm start's setting; default 32)
 *
 * Posts enter where the ingester would put them (the posts topic): 110 posts/s is 20× Tumblr's peak rate for one
 * API key, more than the ingester can fetch, so the soak loads what comes after it. The distributed mode needs Kafka
 * and Redis (`npm run services:up`); its topics and Redis keys get a unique prefix so other runs are left alone.
 * Latency is measured from the dashboard's own pushes: a socket.io client watches the soak topic, and post k of a
 * minute is "on the dashboard" at the first push whose count for that minute reaches k.
 * Run it under `nice -n 10` on a shared machine; absolute figures then include everyone else's load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import sharp from 'sharp';
import { io as connectSocket, type Socket } from 'socket.io-client';
import { createBus, memoryBusRetained, type Bus, type Producer } from '@moodstream/bus';
import { createLogger, parseCommandLineOrExit } from '@moodstream/core';
import { TOPICS, type PostInput } from '@moodstream/events';
import type { MemoryTrendsStore, SeriesUpdate } from '@moodstream/trends';
import { parseStartConfig } from './start/config';
import { startEmbeddedStack } from './start/embedded';
import { REPO_ROOT } from './start/paths';
import { createProgress } from './start/progress';
import { servicesUp } from './services';
import { fitLine, perHour, trend, type Trend } from './soak-fit';
import { LatencyLog } from './soak-latency';

type Mode = 'embedded' | 'distributed';

interface Options {
  modes: Mode[];
  minutes: number;
  rate: number;
  imageShare: number;
  sampleSeconds: number;
  /** Embedded mode: minutes at which to write a heap snapshot of this process (for diffing by constructor). */
  heapSnapshotMinutes: number[];
  /** Slopes are also reported from this minute on. */
  warmUpMinutes: number;
}

interface Sample {
  minute: number;
  offered: number;
  counted: number;
  /** Posts offered but not yet counted on the dashboard: the whole pipeline's backlog. */
  backlog: number;
  p99LatencyMs: number | null;
  medianLatencyMs: number | null;
  rssMb: Record<string, number>;
  /** Embedded mode only: where the one process's memory is (see `memoryProbe`). */
  memory?: Record<string, unknown>;
}

interface ModeResult {
  mode: Mode;
  minutes: number;
  offered: number;
  counted: number;
  offeredPerSecond: number;
  samples: Sample[];
  /**
   * Slopes: least squares over every sample, from minute 10 on, and after the warm-up (`warmUpMinutes`: by then, at
   * the defaults, the in-memory bus has reached its cap and the dedupe ids their window).
   */
  rss: Record<
    string,
    { startMb: number; endMb: number; slopeMbPerHour: number; slopeFromMinute10MbPerHour: number; slopeAfterWarmUpMbPerHour: number; slopeAfterWarmUpErrorMbPerHour: number | null }
  >;
  warmUpMinutes: number;
  /**
   * Embedded mode, after the warm-up: where the process's growth is. RSS; V8's live heap (heap used) and what it
   * commits for it (heap total); everything outside V8's heap (RSS − heap total − external); and the trends store's
   * estimate of the history it keeps (memory-history.ts), which the defaults let grow until MEMORY_TRENDS_HISTORY_MB.
   */
  afterWarmUp?: Record<string, Trend>;
  /**
   * Minutes at which a heap snapshot was written. Writing one grows the native heap by hundreds of MB that glibc
   * hands back only slowly (RSS outside V8's heap 579 → 966 MB at a snapshot of a 300 MB heap): RSS after the first
   * is not comparable with RSS before it; heap used and heap total are.
   */
  heapSnapshotsAt?: number[];
  maxBacklog: number;
  p99LatencyMs: number | null;
  note?: string;
}

const WORDS = 'happy sad angry scared surprised disgusted today tomorrow friends family work school weather rain sun coffee music movie dog cat love hate tired excited worried calm lovely awful great terrible morning night weekend holiday'.split(' ');

const SOAK_COMMAND = {
  command: 'npm run soak',
  summary: 'a steady ~110 posts/s into the running pipeline for a while; RSS per process, backlog and p99 latency each minute (bench/results/soak.json)',
  options: {
    mode: { type: 'string', valueName: 'MODE', default: 'both', choices: ['both', 'embedded', 'distributed'], description: 'which stack to soak; distributed needs Kafka and Redis (npm run services:up)' },
    minutes: { type: 'number', nonNegative: true, description: 'minutes per mode (default SOAK_MINUTES, else 30)' },
  },
  examples: ['npm run soak -- --minutes 5 --mode embedded'],
  notes: `Environment:
  SOAK_RATE=110 SOAK_IMAGE_SHARE=0.1 SOAK_SAMPLE_SECONDS=60
  SOAK_WARMUP_MINUTES=16      slopes are also reported from this minute (the bus is full by then at the defaults)
  SOAK_HEAP_SNAPSHOTS=5,11    embedded: heap snapshots of this process at those minutes (they pause it, and
                              leave RSS hundreds of MB higher); compare two with scripts/soak-heap-diff.ts
  MEMORY_BUS_RETENTION_MB=16  embedded: the in-memory bus's cap per topic (npm start's setting; default 64)
  MEMORY_TRENDS_HISTORY_MB=128 embedded: the trends history's budget (npm start's setting; default 32)

Outside CI. Run it under nice -n 10 on a shared machine; absolute figures then include everyone else's load.`,
} as const;

function parseOptions(argv: string[]): Options {
  const { values } = parseCommandLineOrExit(SOAK_COMMAND, argv);
  const mode = values.mode;
  const minutes = values.minutes ?? Number(process.env['SOAK_MINUTES'] ?? 30);
  const rate = Number(process.env['SOAK_RATE'] ?? 110);
  const imageShare = Number(process.env['SOAK_IMAGE_SHARE'] ?? 0.1);
  const sampleSeconds = Number(process.env['SOAK_SAMPLE_SECONDS'] ?? 60);
  const warmUpMinutes = Number(process.env['SOAK_WARMUP_MINUTES'] ?? 16);
  if (!['both', 'embedded', 'distributed'].includes(mode)) throw new Error(`--mode must be both, embedded or distributed, not ${mode}`);
  for (const [name, value] of Object.entries({ minutes, rate, imageShare, sampleSeconds, warmUpMinutes })) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  }
  const heapSnapshotMinutes = (process.env['SOAK_HEAP_SNAPSHOTS'] ?? '').split(',').filter((m) => m.trim() !== '').map(Number);
  if (heapSnapshotMinutes.some((m) => !Number.isFinite(m) || m < 0)) throw new Error('SOAK_HEAP_SNAPSHOTS must list minutes, e.g. 5,11');
  return { modes: mode === 'both' ? ['embedded', 'distributed'] : [mode as Mode], minutes, rate, imageShare, sampleSeconds, heapSnapshotMinutes, warmUpMinutes };
}

/** A few distinct JPEGs on loopback; each post asks for its own URL, so the fetcher works every time. */
async function startImageHost(): Promise<{ server: Server; base: string }> {
  const images = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      sharp({ create: { width: 320, height: 320, channels: 3, background: { r: (i * 53) % 256, g: (i * 97) % 256, b: (i * 151) % 256 } } }).jpeg().toBuffer(),
    ),
  );
  const server = createServer((req, res) => {
    const n = Number(/\/img\/(\d+)/.exec(req.url ?? '')?.[1] ?? NaN);
    const image = images[n % images.length];
    if (image === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(image.length) }).end(image);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** RSS in MB of `root` and every process below it, named by what they run. */
function processTreeRss(root: number): Record<string, number> {
  let table: string;
  try {
    table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,rss=,args='], { encoding: 'utf8' });
  } catch {
    return {};
  }
  const rows = table
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), rssKb: Number(m[3]), args: m[4] ?? '' }));
  const inTree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) {
      if (!inTree.has(row.pid) && inTree.has(row.ppid)) {
        inTree.add(row.pid);
        grew = true;
      }
    }
  }
  const out: Record<string, number> = {};
  for (const row of rows) {
    if (!inTree.has(row.pid) || !row.args.includes('node')) continue;
    const name = /apps\/(\w+)\/src\/main/.exec(row.args)?.[1] ?? (row.args.includes('scripts/start.ts') ? 'launcher' : /ingester/.test(row.args) ? 'ingester' : `node-${row.pid}`);
    out[name] = Math.round(((out[name] ?? 0) + row.rssKb / 1024) * 10) / 10;
  }
  return out;
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 102.4) / 10;

/** Fields of /proc/self/status in MB (VmRSS splits into RssAnon, RssFile, RssShmem); empty where there is no /proc. */
function procStatus(fields: string[]): Record<string, number> {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, number> = {};
  for (const field of fields) {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1];
    if (kb !== undefined) out[field] = mb(Number(kb) * 1024);
  }
  return out;
}

/**
 * The embedded process's memory by where it lives: the main V8 heap, Buffers (arrayBuffers), native and other
 * threads (RSS minus both), and what the in-memory bus holds per topic by its own count.
 */
function memoryProbe(bus: Bus, store: MemoryTrendsStore): Record<string, unknown> {
  const usage = process.memoryUsage();
  const retained = memoryBusRetained(bus) ?? [];
  return {
    heapUsedMb: mb(usage.heapUsed),
    heapTotalMb: mb(usage.heapTotal),
    externalMb: mb(usage.external),
    arrayBuffersMb: mb(usage.arrayBuffers),
    ...procStatus(['RssAnon', 'RssFile']),
    // Used / committed per V8 space: old space's committed size is what RSS follows.
    heapSpacesMb: Object.fromEntries(
      getHeapSpaceStatistics()
        .filter((space) => space.space_size > 0)
        .map((space) => [space.space_name.replace(/_space$/, ''), [mb(space.space_used_size), mb(space.space_size)]]),
    ),
    busMb: Object.fromEntries(retained.filter((t) => t.records > 0).map((t) => [t.topic, mb(t.bytes)])),
    store: store.footprint(),
  };
}

/**
 * The embedded process's series from its samples' `memory` (memoryProbe), for `afterWarmUp`. Its RSS is this
 * process's entry (`node-<pid>`): a child it starts (Next.js leaves one) has its own.
 */
function memorySeries(samples: Sample[]): Record<string, [number, number][]> {
  const out: Record<string, [number, number][]> = { rss: [], heapUsed: [], heapTotal: [], outsideHeap: [], historyEstimate: [] };
  for (const sample of samples) {
    const memory = sample.memory as { heapUsedMb: number; heapTotalMb: number; externalMb: number; store: { historyBytes?: number } } | undefined;
    const rss = sample.rssMb[`node-${process.pid}`];
    if (memory === undefined || rss === undefined) continue;
    out['rss']!.push([sample.minute, rss]);
    out['heapUsed']!.push([sample.minute, memory.heapUsedMb]);
    out['heapTotal']!.push([sample.minute, memory.heapTotalMb]);
    out['outsideHeap']!.push([sample.minute, Math.round((rss - memory.heapTotalMb - memory.externalMb) * 10) / 10]);
    if (memory.store.historyBytes !== undefined) out['historyEstimate']!.push([sample.minute, mb(memory.store.historyBytes)]);
  }
  return Object.fromEntries(Object.entries(out).filter(([, series]) => series.length > 0));
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

/**
 * Offers posts at `rate` for `minutes`, watching the dashboard's pushes for their topic; samples every `sampleSeconds`.
 */
async function drive(options: {
  options: Options;
  producer: Producer;
  dashboardUrl: string;
  imageBase: string;
  rss: () => Record<string, number>;
  /** Extra per-sample figures, written beside the RSS. */
  probe?: () => Record<string, unknown>;
  log: (line: string) => void;
}): Promise<Omit<ModeResult, 'mode'>> {
  const { rate, imageShare, minutes, sampleSeconds, warmUpMinutes } = options.options;
  const imageEvery = imageShare > 0 ? Math.round(1 / imageShare) : 0;
  const run = Math.random().toString(36).slice(2, 8);
  const topic = `soak ${run}`;
  // Bounded: it lives in the process the embedded mode measures (soak-latency.ts).
  const latencies = new LatencyLog();
  let offered = 0;
  const socket: Socket = connectSocket(options.dashboardUrl, { transports: ['websocket'] });
  // A reconnect (after a long pause: a heap snapshot, a loaded machine) is a new server-side socket: watch again.
  socket.on('connect', () => socket.emit('watch', { topic, window: '1m' }));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  socket.on('series', (update: SeriesUpdate) => {
    if (update.topic !== topic || update.window !== '1m' || update.replay !== null) return;
    latencies.seen(update.point.start, update.point.count, Date.now());
  });

  const started = Date.now();
  const endAt = started + minutes * 60_000;
  const samples: Sample[] = [];
  const rssSeries: Record<string, [number, number][]> = {};
  const snapshotsDue = options.probe === undefined ? [] : [...options.options.heapSnapshotMinutes].sort((a, b) => a - b);
  const snapshotsAt: number[] = [];
  let nextSampleAt = started;
  let sending: Promise<void> = Promise.resolve();
  const counted = (): number => latencies.counted();
  const takeSample = (): void => {
    const now = Date.now();
    const minute = (now - started) / 60_000;
    const recent = latencies.takeRecent();
    const rss = options.rss();
    for (const [name, mb] of Object.entries(rss)) (rssSeries[name] ??= []).push([minute, mb]);
    const sample: Sample = { minute: Math.round(minute * 100) / 100, offered, counted: counted(), backlog: offered - counted(), p99LatencyMs: quantile(recent, 0.99), medianLatencyMs: quantile(recent, 0.5), rssMb: rss };
    if (options.probe !== undefined) sample.memory = options.probe();
    while (snapshotsDue[0] !== undefined && snapshotsDue[0] <= minute) {
      snapshotsDue.shift();
      snapshotsAt.push(sample.minute);
      const file = writeHeapSnapshot(join(tmpdir(), `soak-${run}-${Math.round(minute)}min.heapsnapshot`));
      options.log(`    heap snapshot ${file}`);
    }
    samples.push(sample);
    options.log(`  t=${sample.minute.toFixed(1)} min offered ${offered} counted ${sample.counted} backlog ${sample.backlog} p99 ${sample.p99LatencyMs ?? '-'} ms rss ${JSON.stringify(rss)}`);
    if (sample.memory !== undefined) options.log(`    memory ${JSON.stringify(sample.memory)}`);
  };

  while (Date.now() < endAt) {
    const now = Date.now();
    if (now >= nextSampleAt) {
      takeSample();
      nextSampleAt += sampleSeconds * 1000;
    }
    const due = Math.floor(((now - started) / 1000) * rate) - offered;
    if (due > 0) {
      const posts: PostInput[] = [];
      for (let i = 0; i < due; i++) {
        const n = offered + i;
        const text = Array.from({ length: 12 }, (_, j) => WORDS[(n * 7 + j * 13) % WORDS.length]).join(' ');
        posts.push({
          id: `soak-${run}-${n}`,
          blog: 'soak',
          url: `https://soak.tumblr.com/post/${n}`,
          timestamp: now,
          topics: [topic],
          tags: [topic],
          text,
          imageUrl: imageEvery > 0 && n % imageEvery === 0 ? `${options.imageBase}/img/${n}.jpg` : null,
          noteCount: null,
          source: 'live',
          label: null,
          ingestedAt: now,
        });
      }
      latencies.sent(Math.floor(now / 60_000) * 60_000, posts.length, now);
      offered += posts.length;
      // Sends are chained so the producer keeps order; a slow broker shows up as backlog, not as a pause in offering.
      sending = sending.then(() => options.producer.send(TOPICS.posts, 'Post', posts.map((value) => ({ key: value.id, value, timestamp: value.timestamp }))));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await sending;
  // A last look after the offering stops: what is still in flight is the backlog at the end.
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  takeSample();
  socket.close();

  const rss: ModeResult['rss'] = {};
  for (const [name, series] of Object.entries(rssSeries)) {
    const afterWarmUp = trend(series, warmUpMinutes);
    rss[name] = {
      startMb: series[0]?.[1] ?? 0,
      endMb: series.at(-1)?.[1] ?? 0,
      slopeMbPerHour: perHour(fitLine(series).slope),
      slopeFromMinute10MbPerHour: perHour(fitLine(series.filter(([minute]) => minute >= 10)).slope),
      slopeAfterWarmUpMbPerHour: afterWarmUp.slopeMbPerHour,
      slopeAfterWarmUpErrorMbPerHour: afterWarmUp.errorMbPerHour,
    };
  }
  const memory = memorySeries(samples);
  return {
    minutes,
    offered,
    counted: counted(),
    offeredPerSecond: Math.round((offered / ((endAt - started) / 1000)) * 10) / 10,
    samples,
    rss,
    warmUpMinutes,
    ...(Object.keys(memory).length === 0 ? {} : { afterWarmUp: Object.fromEntries(Object.entries(memory).map(([name, series]) => [name, trend(series, warmUpMinutes)])) }),
    ...(snapshotsAt.length === 0 ? {} : { heapSnapshotsAt: snapshotsAt }),
    maxBacklog: Math.max(...samples.map((s) => s.backlog)),
    p99LatencyMs: latencies.quantile(0.99),
  };
}

async function soakEmbedded(options: Options, imageBase: string, log: (line: string) => void): Promise<ModeResult> {
  const logger = createLogger('soak', { level: 'warn' });
  const stack = await startEmbeddedStack({
    config: parseStartConfig({
      PORT: '0',
      LOG_LEVEL: 'warn',
      MEMORY_BUS_RETENTION_MB: process.env['MEMORY_BUS_RETENTION_MB'],
      MEMORY_TRENDS_HISTORY_MB: process.env['MEMORY_TRENDS_HISTORY_MB'],
    }),
    progress: createProgress({ write: log }),
    logger,
    env: { ...process.env, SCORER_IMAGE_ALLOWLIST: '127.0.0.1' },
    exit: () => undefined,
  });
  try {
    await stack.demo?.historyDone;
    await stack.caughtUp(10 * 60_000).catch((error: unknown) => log(`  (the demo history was not fully scored before the soak began: ${String(error)})`));
    const producer = await stack.bus.producer();
    try {
      const result = await drive({ options, producer, dashboardUrl: stack.url, imageBase, rss: () => processTreeRss(process.pid), probe: () => memoryProbe(stack.bus, stack.store), log });
      return { mode: 'embedded', ...result, note: 'one process (this one): the demo stream plays alongside the soak posts' };
    } finally {
      await producer.close();
    }
  } finally {
    await stack.close();
  }
}

async function soakDistributed(options: Options, imageBase: string, log: (line: string) => void): Promise<ModeResult> {
  const services = await servicesUp(log);
  const prefix = `soak${Math.random().toString(36).slice(2, 8)}`;
  const port = await freePort();
  const env = {
    ...process.env,
    KAFKA_BROKERS: services.kafkaBrokers,
    REDIS_URL: services.redisUrl,
    PORT: String(port),
    MOODSTREAM_TOPIC_PREFIX: `${prefix}.`,
    TRENDS_REDIS_PREFIX: `${prefix}:trends`,
    SCORER_IMAGE_ALLOWLIST: '127.0.0.1',
    // Each child's own ops port would collide with other runs on this machine: let each pick a free one.
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
  };
  const launcher: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  launcher.stdout?.on('data', (chunk: Buffer) => process.stderr.write(`  [npm start] ${chunk.toString()}`));
  launcher.stderr?.on('data', (chunk: Buffer) => process.stderr.write(`  [npm start] ${chunk.toString()}`));
  const url = `http://127.0.0.1:${port}`;
  const bus: Bus = createBus({ kafkaBrokers: services.kafkaBrokers.split(','), clientId: 'soak', topicPrefix: `${prefix}.`, logger: createLogger('soak', { level: 'warn' }) });
  try {
    const deadline = Date.now() + 15 * 60_000;
    for (;;) {
      if (launcher.exitCode !== null) throw new Error(`npm start (distributed) exited with code ${launcher.exitCode}`);
      const ok = await fetch(`${url}/healthz`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error('the distributed stack did not become healthy within 15 minutes');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name })));
    const producer = await bus.producer();
    try {
      const result = await drive({ options, producer, dashboardUrl: url, imageBase, rss: () => processTreeRss(launcher.pid ?? -1), log });
      return { mode: 'distributed', ...result, note: `each app its own process; topics ${prefix}.*, Redis ${prefix}:trends` };
    } finally {
      await producer.close();
    }
  } finally {
    await bus.close();
    launcher.kill('SIGINT');
    await new Promise((resolve) => (launcher.exitCode !== null ? resolve(null) : launcher.once('exit', resolve)));
  }
}

function table(results: ModeResult[]): string {
  const lines = ['mode         process       RSS start MB  RSS end MB  slope MB/h  from min 10  after warm-up  | offered/s  max backlog  p99 latency ms'];
  for (const r of results) {
    for (const [name, rss] of Object.entries(r.rss)) {
      lines.push(`${r.mode.padEnd(12)} ${name.padEnd(13)} ${String(rss.startMb).padStart(12)} ${String(rss.endMb).padStart(11)} ${String(rss.slopeMbPerHour).padStart(11)} ${String(rss.slopeFromMinute10MbPerHour).padStart(12)} ${String(rss.slopeAfterWarmUpMbPerHour).padStart(14)}  | ${String(r.offeredPerSecond).padStart(9)} ${String(r.maxBacklog).padStart(12)} ${String(r.p99LatencyMs ?? '-').padStart(15)}`);
    }
  }
  for (const r of results) {
    if (r.afterWarmUp === undefined) continue;
    lines.push('', `${r.mode}, from minute ${r.warmUpMinutes}:  series           first MB  last MB  lowest  highest  slope MB/h ± error`);
    for (const [name, t] of Object.entries(r.afterWarmUp)) {
      lines.push(`${' '.repeat(r.mode.length + 22)}${name.padEnd(16)} ${String(t.fromMb).padStart(8)} ${String(t.toMb).padStart(8)} ${String(t.minMb).padStart(7)} ${String(t.maxMb).padStart(8)}  ${String(t.slopeMbPerHour).padStart(10)} ± ${t.errorMbPerHour ?? '-'}`);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const images = await startImageHost();
  const results: ModeResult[] = [];
  try {
    for (const mode of options.modes) {
      log(`soak: ${mode} mode, ${options.minutes} min at ${options.rate} posts/s (${options.imageShare * 100}% with an image)`);
      results.push(mode === 'embedded' ? await soakEmbedded(options, images.base, log) : await soakDistributed(options, images.base, log));
    }
  } finally {
    images.server.close();
  }
  const out = join(REPO_ROOT, 'bench/results');
  mkdirSync(out, { recursive: true });
  const report = { when: new Date().toISOString(), rate: options.rate, imageShare: options.imageShare, minutes: options.minutes, note: 'shared machine: absolute figures include other load', results };
  writeFileSync(join(out, 'soak.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(table(results));
  console.log(`written ${join('bench/results', 'soak.json')}`);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
