/**
 * Trends benchmark (not part of `npm test`):
 *
 *   npm run bench:trends                         # everything below with the defaults; -- --help for the flags
 *
 * 1. Aggregation into Redis per aggregator process: synthetic ScoredPosts (5 topics, each counted under its
 *    topic and "all") through the service's ingest path into the Redis store, batches of --batch; median of
 *    --runs. Baseline in the same run: the same path one post per call (one script call per post).
 * 2. With KAFKA_BROKERS: through the real broker — --consume-events posts produced to a 3-partition scratch topic,
 *    then consumed by real aggregator processes (`libs/trends/src/bin/aggregator.ts`, one per variant, each its own
 *    consumer group and Redis prefix) into Redis. Rate = records committed between the group's first commit and
 *    caught up, over that time (start-up excluded), polled from the broker every 100 ms. Variants in the same run:
 *    "before" (zod-only decoding, MOODSTREAM_BUS_DECODE=schema, and kafkajs's default 1 MiB fetches), "after"
 *    (the defaults), and word-shift bookkeeping on/off when the aggregator has TRENDS_WORD_SHIFT.
 *    --before-ref REV: "before" is instead the aggregator of another commit (its libs/ from `git archive REV`, run
 *    against this checkout's node_modules), word shift on and off — the same run compares two versions of the code.
 *    --profile: each variant runs under `node --cpu-prof`; the top self-time functions and the CPU per record by stage
 *    of the consume path (profileStages) go into the JSON. Every variant also reports Redis's `INFO commandstats`
 *    deltas and the local broker's CPU over the timed interval, per record. --rounds N runs the variants N times,
 *    alternating their order, and quotes each by its median run. BENCH_TRENDS_NODE_OPTIONS adds a variant
 *    "after-node-options": this checkout's aggregator with those NODE_OPTIONS (e.g. --max-semi-space-size=64).
 * 3. Replay: --events posts spread over 24 h of history replayed with the replay CLI at --speed max
 *    (`replay --topic all --from … --to … --speed max`) from Kafka when KAFKA_BROKERS is set, else
 *    in-process from the memory bus. Target ≤ 30 s for 1,000,000. With --before-ref the other commit's replay CLI runs
 *    first on the same records (`replay.before` in the JSON); the replay's own CPU and Redis's are reported too.
 * Writes bench/results/trends.json. Scratch topics and Redis keys are removed afterwards.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createKafkaBus, createMemoryBus, type Bus, type KafkaBus } from '@moodstream/bus';
import { createLogger, parseCommandLineOrExit, sleep, splitList } from '@moodstream/core';
import { topicNames, type ScoredPost } from '@moodstream/events';
import { BASELINE_SHARES, createRedisTrendsStore, createTrendsService, syntheticScoredPosts, trendsConfig, type TrendsService } from '@moodstream/trends';
import { median } from './stats';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'trends.json');
const logger = createLogger('bench-trends', { level: process.env['LOG_LEVEL'] ?? 'warn' });
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const BROKERS = splitList(process.env['KAFKA_BROKERS']);

const { values: args } = parseCommandLineOrExit({
  command: 'npm run bench:trends',
  summary: 'trends aggregation into Redis: the ingest path, through the real broker per aggregator process, and the 24 h replay (bench/results/trends.json)',
  options: {
    events: { type: 'number', default: 1_000_000, integer: true, positive: true, description: 'posts over 24 h for the replay (target: 1,000,000 in <= 30 s)' },
    'consume-events': { type: 'number', default: 300_000, integer: true, positive: true, description: 'posts produced to the scratch topic for the through-the-broker variants' },
    'throughput-events': { type: 'number', default: 200_000, integer: true, positive: true, description: 'posts through the ingest path (no bus)' },
    runs: { type: 'number', default: 3, integer: true, positive: true, description: 'ingest-path runs (the median is quoted)' },
    batch: { type: 'number', default: 5_000, integer: true, positive: true, description: 'posts per ingest call on the ingest path' },
    'skip-ingest': { type: 'boolean', default: false, description: 'skip the ingest path' },
    'skip-consume': { type: 'boolean', default: false, description: 'skip the through-the-broker variants' },
    'skip-replay': { type: 'boolean', default: false, description: 'skip the replay' },
    profile: { type: 'boolean', default: false, description: 'run each aggregator under node --cpu-prof: top self time and CPU per record by stage into the JSON' },
    rounds: {
      type: 'number',
      default: 1,
      integer: true,
      positive: true,
      description: 'consume rounds: every variant runs this many times, each round in the reverse order of the one before; each variant is quoted by its median run (all runs in the JSON)',
    },
    only: { type: 'string', valueName: 'NAMES', default: '', description: 'run only these consume variants, comma-separated (before, after, before-wordshift-off, after-wordshift-off): a quick look, not a comparison' },
    'before-ref': { type: 'string', valueName: 'REV', description: "'before' is the aggregator and replay CLI of this commit (git archive), word shift on and off" },
  },
  examples: [
    'KAFKA_BROKERS=127.0.0.1:9092 flock /tmp/bench.lock nice -n -10 npm run bench:trends -- --before-ref dbf7ac6',
    'npm run bench:trends -- --skip-replay --skip-ingest --profile',
    'KAFKA_BROKERS=127.0.0.1:9092 flock /tmp/bench.lock nice -n -10 npm run bench:trends -- --skip-replay --skip-ingest --before-ref 51b6457 --rounds 3',
  ],
  notes:
    'Environment: KAFKA_BROKERS (without it only the ingest path and an in-process replay from the memory bus run), ' +
    'REDIS_URL (default redis://127.0.0.1:6379), BENCH_TRENDS_NODE_OPTIONS (adds a variant: this checkout\'s aggregator ' +
    'with those NODE_OPTIONS), LOG_LEVEL. Scratch topics and Redis keys are removed afterwards.',
});
const EVENTS = args.events;
const CONSUME_EVENTS = args['consume-events'];
const THROUGHPUT_EVENTS = args['throughput-events'];
const RUNS = args.runs;
const BATCH = args.batch;
const TOPICS = ['politics', 'music', 'weather', 'sports', 'gaming'];
/**
 * 24 h of history starting 23 h ago (minute-aligned): the shared broker deletes records older than 24 h by their
 * timestamps (log.retention.hours=24), so older history would vanish during the run.
 */
const H0 = Math.floor((Date.now() - 23 * 3_600_000) / 60_000) * 60_000;
const DAY = 86_400_000;
const suffix = randomBytes(4).toString('hex');
const redisPrefix = `bench:trends:${suffix}`;

/** `count` posts spread evenly over `durationMs` from H0 (the replay's 24 h by default). */
function stream(count: number, durationMs = DAY): Generator<ScoredPost> {
  const perTopicPerMinute = count / (TOPICS.length * (durationMs / 60_000));
  return syntheticScoredPosts({ start: H0, durationMs, ratePerMinute: perTopicPerMinute, topics: TOPICS, shares: () => BASELINE_SHARES, seed: 11, idPrefix: `b${suffix}` });
}

/**
 * The consume measurement's posts span one hour, as live traffic does (a batch covers seconds of event time, not
 * hours: squeezing a day into a few batches would make every batch close dozens of alert windows).
 */
const CONSUME_SPAN_MS = 3_600_000;

/** CPU-seconds over records as µs per record, '?' when unknown. */
const perRecord = (cpuSeconds: number | null, records: number): string => (cpuSeconds === null || records === 0 ? '?' : ((cpuSeconds * 1e6) / records).toFixed(1));

/** Removes every key starting with `prefix` (the store's keys are hash-tagged: pass `{<prefix>` for those). */
async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

function ingestService(redis: Redis, name: string, bus: Bus): TrendsService {
  return createTrendsService({
    bus,
    store: createRedisTrendsStore(redis, { prefix: `${redisPrefix}:${name}` }),
    logger,
    config: trendsConfig({ TRENDS_ALLOWED_LATENESS_MS: 2 * DAY }),
    topics: topicNames(`bench-${suffix}.`),
    groupId: `bench-${suffix}-${name}`,
    consume: false,
  });
}

async function ingestRate(redis: Redis, posts: ScoredPost[], batch: number, name: string): Promise<number> {
  const svc = ingestService(redis, name, createMemoryBus());
  await svc.start();
  const began = performance.now();
  for (let i = 0; i < posts.length; i += batch) await svc.ingest(posts.slice(i, i + batch));
  const seconds = (performance.now() - began) / 1000;
  await svc.stop();
  return posts.length / seconds;
}

async function produce(bus: Bus, topic: string, count: number, durationMs = DAY): Promise<number> {
  const producer = await bus.producer();
  const began = performance.now();
  let batch: ScoredPost[] = [];
  const flush = async () => {
    await producer.send(topic, 'ScoredPost', batch.map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp })));
    batch = [];
  };
  for (const post of stream(count, durationMs)) {
    batch.push(post);
    if (batch.length >= 2_000) await flush();
  }
  if (batch.length > 0) await flush();
  await producer.close();
  return (performance.now() - began) / 1000;
}

interface ConsumeVariant {
  name: string;
  env: Record<string, string>;
  /** The checkout whose aggregator runs (default: this one). */
  root?: string;
}

/**
 * The libs of another commit in a temporary directory, with a node_modules of links: third-party packages from this
 * checkout, the workspace packages pointing into the old libs. Only the aggregator runs from it.
 */
async function checkoutOf(ref: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-trends-before-'));
  const archive = spawnSync('git', ['archive', '--format=tar', ref, 'libs', 'package.json', 'tsconfig.base.json', 'tsconfig.json'], { cwd: ROOT, maxBuffer: 512 * 2 ** 20 });
  if (archive.status !== 0) throw new Error(`git archive ${ref} failed: ${archive.stderr.toString('utf8')}`);
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr.toString('utf8')}`);
  const modules = path.join(ROOT, 'node_modules');
  await mkdir(path.join(dir, 'node_modules', '@moodstream'), { recursive: true });
  for (const entry of await readdir(modules)) if (entry !== '@moodstream') await symlink(path.join(modules, entry), path.join(dir, 'node_modules', entry));
  for (const entry of await readdir(path.join(dir, 'libs'))) await symlink(path.join('..', '..', 'libs', entry), path.join(dir, 'node_modules', '@moodstream', entry));
  // The aggregator reads the model's confusion matrix relative to its working directory.
  await symlink(path.join(ROOT, 'models'), path.join(dir, 'models'));
  return dir;
}

interface ConsumeOutcome {
  postsPerSec: number;
  records: number;
  seconds: number;
  /** CPU the aggregator process used over the same interval, and records per CPU-second: the rate one free core gives. */
  cpuSeconds: number | null;
  postsPerCpuSecond: number | null;
  /** CPU of the Redis server over the interval (shared with whoever else uses it). */
  redisCpuSeconds: number | null;
  /** CPU of the local broker process over the interval (null when none runs here). */
  brokerCpuSeconds: number | null;
  /** Redis commands over the interval, by time (other users of the shared server included). */
  redisCommands: { command: string; calls: number; usPerRecord: number }[];
  profileTop?: { selfPct: number; fn: string }[];
  profileStages?: StageCost[];
}

/** Self time per function of a .cpuprofile, the top `n` (idle and GC included: they say what the process waited on). */
async function profileTop(dir: string, n: number): Promise<{ selfPct: number; fn: string }[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return [];
  const profile = JSON.parse(await readFile(path.join(dir, files[0]!), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) return;
    const where = frame.url.replace(/^.*node_modules\//, '').replace(/^.*?\/(libs|apps|bench)\//, '$1/');
    const key = `${frame.functionName || '(anonymous)'} ${where}${where === '' ? '' : `:${frame.lineNumber + 1}`}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, t]) => ({ selfPct: Number(((100 * t) / total).toFixed(1)), fn }));
}

/**
 * Where the aggregator's CPU goes, by stage of the consume path. A sample's stack is searched from its leaf up and the
 * first frame a rule matches names the stage, so a Buffer slice inside kafkajs's record decoder counts as the decoder
 * and `utf8Slice` inside `decodeEvent` as JSON parsing (V8 shows JSON.parse as its caller's self time).
 */
const STAGES: { stage: string; match: (fn: string, url: string) => boolean }[] = [
  { stage: 'GC', match: (fn) => fn === '(garbage collector)' },
  { stage: 'idle (waiting on Redis, the broker)', match: (fn) => fn === '(idle)' },
  { stage: 'start-up (module loading, tsx)', match: (_, url) => /node_modules\/(tsx|esbuild|get-tsconfig)|node:internal\/modules/.test(url) },
  { stage: 'validation (fast path, zod)', match: (_, url) => /fast-scored-post\.ts|node_modules\/zod\//.test(url) },
  { stage: 'word shift: tokenising, plan', match: (_, url) => /word-shift(-terms)?\.ts$/.test(url) },
  { stage: 'word shift: Redis args (deltas, packing)', match: (_, url) => /word-shift-(redis|table)\.ts$/.test(url) },
  { stage: 'plan (groups, sums, examples)', match: (_, url) => /libs\/trends\/src\/(plan|bucket)\.ts$/.test(url) },
  { stage: 'buckets: Redis args', match: (_, url) => /libs\/trends\/src\/(redis-store|redis-packed)\.ts$/.test(url) },
  { stage: 'ioredis (commands, socket, replies)', match: (_, url) => /node_modules\/(ioredis|redis-parser|@ioredis)\//.test(url) },
  { stage: 'JSON.parse (+ bytes to string)', match: (fn, url) => fn === 'decodeEvent' || /libs\/bus\/src\/codec\.ts$/.test(url) },
  { stage: 'bus edge (records, headers, chunks, commit bookkeeping)', match: (_, url) => /libs\/bus\/src\//.test(url) },
  { stage: 'kafkajs fetch decode', match: (_, url) => /kafkajs\/src\/protocol\/(recordBatch|requests\/fetch|decoder|crc32|messageSet)/.test(url) },
  { stage: 'kafkajs other (network, group, commit, heartbeats)', match: (_, url) => /kafkajs\//.test(url) },
  { stage: 'engine, service, alerts', match: (_, url) => /libs\/(trends|core)\/src\//.test(url) },
];

interface StageCost {
  stage: string;
  /** Share of the profile's busy (non-idle) time; idle's share is of all time. */
  pct: number;
  /** CPU µs per record consumed (the profile covers the whole process: every record of the topic). */
  usPerRecord: number;
}

/** Per-stage CPU of the first .cpuprofile in `dir`, over `records` records. */
async function profileStages(dir: string, records: number): Promise<StageCost[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return [];
  const profile = JSON.parse(await readFile(path.join(dir, files[0]!), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
    samples: number[];
    timeDeltas: number[];
  };
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const stageOf = new Map<number, string>();
  const classify = (id: number): string => {
    const known = stageOf.get(id);
    if (known !== undefined) return known;
    let stage = 'other (node internals, timers)';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      const rule = frame === undefined ? undefined : STAGES.find((s) => s.match(frame.functionName, frame.url));
      if (rule !== undefined) {
        stage = rule.stage;
        break;
      }
    }
    stageOf.set(id, stage);
    return stage;
  };
  const time = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const stage = classify(id);
    time.set(stage, (time.get(stage) ?? 0) + dt);
    total += dt;
  });
  const idle = [...time].filter(([stage]) => stage.startsWith('idle')).reduce((sum, [, t]) => sum + t, 0);
  return [...time]
    .sort((a, b) => b[1] - a[1])
    .map(([stage, t]) => ({
      stage,
      pct: Number(((100 * t) / (stage.startsWith('idle') ? total : total - idle)).toFixed(1)),
      usPerRecord: Number((t / records).toFixed(2)),
    }));
}

/** Redis `INFO commandstats` as command → [calls, usec]. */
async function redisCommandStats(redis: Redis): Promise<Map<string, [number, number]>> {
  const info = await redis.info('commandstats').catch(() => '');
  const stats = new Map<string, [number, number]>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(match[1]!, [Number(match[2]), Number(match[3])]);
  return stats;
}

/** Commands that ran between two snapshots: calls and µs of Redis time per record (whoever else uses Redis included). */
function commandDeltas(before: Map<string, [number, number]>, after: Map<string, [number, number]>, records: number): { command: string; calls: number; usPerRecord: number }[] {
  return [...after]
    .map(([command, [calls, usec]]) => ({ command, calls: calls - (before.get(command)?.[0] ?? 0), usec: usec - (before.get(command)?.[1] ?? 0) }))
    .filter((d) => d.calls > 0)
    .sort((a, b) => b.usec - a.usec)
    .slice(0, 10)
    .map((d) => ({ command: d.command, calls: d.calls, usPerRecord: Number((d.usec / records).toFixed(2)) }));
}

/** The local Kafka broker's pid (its CPU belongs to the per-record budget on a shared box), if one runs here. */
function brokerPid(): number | undefined {
  const found = spawnSync('pgrep', ['-f', 'kafka\\.Kafka'], { encoding: 'utf8' });
  const pid = Number(found.stdout?.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** utime + stime of a process in seconds (Linux /proc), null elsewhere. */
async function processCpuSeconds(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function redisCpuSeconds(redis: Redis): Promise<number | null> {
  const info = await redis.info('cpu').catch(() => '');
  const fields = new Map(info.split(/\r?\n/).map((line) => line.split(':', 2) as [string, string]));
  const total = Number(fields.get('used_cpu_user')) + Number(fields.get('used_cpu_sys'));
  return Number.isFinite(total) ? total : null;
}

/** What each run of a variant is listed with when there are several rounds. */
interface RoundFigures {
  postsPerSec: number;
  postsPerCpuSecond: number | null;
  aggregatorUsPerRecord: number | null;
  redisUsPerRecord: number | null;
  brokerUsPerRecord: number | null;
}

function roundFigures(outcome: ConsumeOutcome): RoundFigures {
  const us = (cpu: number | null): number | null => (cpu === null ? null : Number(((cpu * 1e6) / outcome.records).toFixed(1)));
  return {
    postsPerSec: outcome.postsPerSec,
    postsPerCpuSecond: outcome.postsPerCpuSecond,
    aggregatorUsPerRecord: us(outcome.cpuSeconds),
    redisUsPerRecord: us(outcome.redisCpuSeconds),
    brokerUsPerRecord: us(outcome.brokerCpuSeconds),
  };
}

/** The run with the median wall rate (the lower middle one of an even count): one whole run, its figures consistent. */
function medianRun(outcomes: readonly ConsumeOutcome[]): ConsumeOutcome {
  const sorted = [...outcomes].sort((a, b) => a.postsPerSec - b.postsPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/**
 * One real aggregator process consumes the whole scratch topic into Redis; the broker's committed offsets say when
 * it started and finished.
 */
async function consumeVariant(bus: KafkaBus, redis: Redis, prefix: string, variant: ConsumeVariant, count: number, run: string): Promise<ConsumeOutcome> {
  // Each run its own consumer group (a group that already committed the topic would read nothing) and Redis prefix.
  const groupId = `bench-${suffix}-${run}`;
  const profileDir = await mkdtemp(path.join(tmpdir(), 'bench-trends-prof-'));
  const root = variant.root ?? ROOT;
  const child = spawn(process.execPath, [...(args.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), '--import', 'tsx', path.join(root, 'libs/trends/src/bin/aggregator.ts')], {
    cwd: root,
    env: {
      ...process.env,
      KAFKA_BROKERS: BROKERS.join(','),
      REDIS_URL,
      MOODSTREAM_TOPIC_PREFIX: prefix,
      TRENDS_GROUP_ID: groupId,
      TRENDS_REDIS_PREFIX: `${redisPrefix}:${run}`,
      TRENDS_ALLOWED_LATENESS_MS: String(2 * DAY),
      TRENDS_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
      ...variant.env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killChild = (): void => {
    child.kill('SIGKILL');
    process.exit(130);
  };
  process.once('SIGINT', killChild);
  try {
    const admin = await (bus as KafkaBus & { admin(): Promise<{ fetchOffsets(o: { groupId: string; topics: string[] }): Promise<{ partitions: { offset: string }[] }[]> }> }).admin();
    const physical = `${prefix}${topicNames().scored}`;
    const committed = async (): Promise<number> => {
      const offsets = await admin.fetchOffsets({ groupId: `${prefix}${groupId}`, topics: [physical] }).catch(() => []);
      return offsets.flatMap((t) => t.partitions).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    };
    let first: { at: number; done: number; cpu: number | null; redisCpu: number | null; brokerCpu: number | null; commands: Map<string, [number, number]> } | null = null;
    const broker = brokerPid();
    const deadline = Date.now() + 15 * 60_000;
    let done = 0;
    while (Date.now() < deadline) {
      done = await committed();
      if (first === null && done > 0) {
        first = { at: performance.now(), done, cpu: await processCpuSeconds(child.pid), redisCpu: await redisCpuSeconds(redis), brokerCpu: await processCpuSeconds(broker), commands: await redisCommandStats(redis) };
      }
      if (done >= count) break;
      if (child.exitCode !== null) throw new Error(`aggregator ${variant.name} exited with ${child.exitCode}`);
      await sleep(100);
    }
    if (first === null || done < count) throw new Error(`aggregator ${variant.name} committed only ${done} of ${count} in 15 min`);
    const seconds = (performance.now() - first.at) / 1000;
    const records = count - first.done;
    const cpuEnd = await processCpuSeconds(child.pid);
    const redisEnd = await redisCpuSeconds(redis);
    const brokerEnd = await processCpuSeconds(broker);
    const commands = commandDeltas(first.commands, await redisCommandStats(redis), records);
    const cpuSeconds = first.cpu === null || cpuEnd === null ? null : Number((cpuEnd - first.cpu).toFixed(2));
    const redisCpu = first.redisCpu === null || redisEnd === null ? null : Number((redisEnd - first.redisCpu).toFixed(2));
    child.kill('SIGTERM');
    await exited;
    const outcome: ConsumeOutcome = {
      postsPerSec: Math.round(records / seconds),
      records,
      seconds: Number(seconds.toFixed(2)),
      cpuSeconds,
      postsPerCpuSecond: cpuSeconds === null || cpuSeconds === 0 ? null : Math.round(records / cpuSeconds),
      redisCpuSeconds: redisCpu,
      brokerCpuSeconds: first.brokerCpu === null || brokerEnd === null ? null : Number((brokerEnd - first.brokerCpu).toFixed(2)),
      redisCommands: commands,
    };
    if (args.profile) {
      outcome.profileTop = await profileTop(profileDir, 15);
      outcome.profileStages = await profileStages(profileDir, count);
    }
    return outcome;
  } finally {
    process.off('SIGINT', killChild);
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(profileDir, { recursive: true, force: true });
    await bus.deleteGroups([groupId]).catch(() => undefined);
  }
}

interface ReplayOutcome {
  seconds: number;
  status: Record<string, unknown>;
  command: string;
  /** CPU of the replay process (polled every 250 ms from /proc while it runs) and of the Redis server over the run. */
  cpuSeconds: number | null;
  redisCpuSeconds: number | null;
}

/**
 * Runs the replay CLI exactly as a person would (of this checkout, or of `root`: --before-ref); returns wall seconds,
 * its final status and the CPU it and Redis used.
 */
async function replayCli(env: Record<string, string>, redis: Redis, root = ROOT): Promise<ReplayOutcome> {
  const cliArgs = ['--topic', 'all', '--from', new Date(H0).toISOString(), '--to', new Date(H0 + DAY).toISOString(), '--speed', 'max'];
  const command = `npm run replay -- ${cliArgs.join(' ')}`;
  const redisBefore = await redisCpuSeconds(redis);
  const run = await new Promise<{ seconds: number; status: Record<string, unknown>; cpuSeconds: number | null }>((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'libs/trends/src/bin/replay.ts'), ...cliArgs], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let cpuSeconds: number | null = null;
    const poll = setInterval(() => {
      void processCpuSeconds(child.pid).then((cpu) => {
        if (cpu !== null) cpuSeconds = cpu;
      });
    }, 250);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    // Never leave the replay running if the benchmark itself is interrupted.
    const killChild = (): void => {
      child.kill('SIGKILL');
      process.exit(130);
    };
    process.once('SIGINT', killChild);
    process.once('SIGTERM', killChild);
    child.on('exit', (code) => {
      clearInterval(poll);
      process.off('SIGINT', killChild);
      process.off('SIGTERM', killChild);
      const seconds = (performance.now() - began) / 1000;
      if (code !== 0) return reject(new Error(`replay CLI exited ${code}: ${out}`));
      resolve({ seconds, status: JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>, cpuSeconds });
    });
  });
  const redisAfter = await redisCpuSeconds(redis);
  const redisCpu = redisBefore === null || redisAfter === null ? null : Number((redisAfter - redisBefore).toFixed(2));
  return { ...run, command, cpuSeconds: run.cpuSeconds === null ? null : Number(run.cpuSeconds.toFixed(2)), redisCpuSeconds: redisCpu };
}

async function replayInProcess(redis: Redis): Promise<{ seconds: number; status: Record<string, unknown>; command: string }> {
  const bus = createMemoryBus({ defaultPartitions: 3 });
  const topics = topicNames();
  await produce(bus, topics.scored, EVENTS);
  const svc = createTrendsService({ bus, store: createRedisTrendsStore(redis, { prefix: `${redisPrefix}:replay` }), logger, config: trendsConfig(), topics, groupId: 'bench', consume: false });
  await svc.start();
  const began = performance.now();
  const { id } = await svc.startReplay({ topic: 'all', from: H0, to: H0 + DAY, speed: 'max', rescore: false });
  const status = await svc.waitForReplay(id);
  const seconds = (performance.now() - began) / 1000;
  await svc.stop();
  await bus.close();
  return { seconds, status: { ...status }, command: 'in-process replay from the memory bus (KAFKA_BROKERS unset)' };
}

async function main(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    redis: REDIS_URL,
    kafka: BROKERS.length > 0 ? BROKERS.join(',') : null,
  };
  const rows: [string, string, string][] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    // 1. Ingest path.
    if (!args['skip-ingest']) {
      // The first posts of the same 24 h stream (so the same density per minute and topic).
      const posts: ScoredPost[] = [];
      for (const post of stream(EVENTS)) {
        if (posts.length >= THROUGHPUT_EVENTS) break;
        posts.push(post);
      }
      const baselinePosts = posts.slice(0, 2_000);
      const baseline = await ingestRate(redis, baselinePosts, 1, 'baseline');
      const rates: number[] = [];
      for (let run = 0; run < RUNS; run++) rates.push(await ingestRate(redis, posts, BATCH, `ingest${run}`));
      await dropPrefix(redis, `{${redisPrefix}`);
      const ingestMedian = median(rates);
      results['ingest'] = { posts: posts.length, batch: BATCH, runs: rates.map(Math.round), medianPostsPerSec: Math.round(ingestMedian), incrementsPerPost: 2, baselineOnePostPerCall: Math.round(baseline), ratioVsBaseline: Number((ingestMedian / baseline).toFixed(1)) };
      rows.push(['aggregation into Redis (ingest path, no bus), posts/s', `${Math.round(ingestMedian)} (median of ${RUNS}: ${rates.map(Math.round).join(', ')})`, '']);
      rows.push(['baseline: one post per script call, posts/s', `${Math.round(baseline)} (×${(ingestMedian / baseline).toFixed(1)} batched)`, '']);
    }

    if (BROKERS.length > 0) {
      const topics = topicNames();
      if (!args['skip-consume']) {
        const prefix = `bench-trends-c-${suffix}.`;
        const bus = createKafkaBus({ brokers: BROKERS, clientId: `bench-trends-c-${suffix}`, topicPrefix: prefix, logger, maxWaitTimeMs: 100 });
        try {
          await bus.ensureTopics([{ name: topics.scored, partitions: 3 }, { name: topics.alerts, partitions: 1 }, { name: topics.deadLetter, partitions: 1 }]);
          const produceSeconds = await produce(bus, topics.scored, CONSUME_EVENTS, CONSUME_SPAN_MS);
          rows.push([`produce ${CONSUME_EVENTS} ScoredPosts to Kafka (setup)`, `${produceSeconds.toFixed(1)} s`, '']);
          const beforeRoot = args['before-ref'] === undefined ? undefined : await checkoutOf(args['before-ref']);
          if (beforeRoot !== undefined) cleanups.push(() => rm(beforeRoot, { recursive: true, force: true }));
          const variants: ConsumeVariant[] =
            beforeRoot === undefined
              ? [
                  // Before this change's bus edge: every record through zod, kafkajs's default fetch size.
                  { name: 'before', env: { MOODSTREAM_BUS_DECODE: 'schema', TRENDS_FETCH_MAX_BYTES: String(1_048_576) } },
                  { name: 'after', env: {} },
                ]
              : [
                  { name: 'before', env: {}, root: beforeRoot },
                  { name: 'after', env: {} },
                  { name: 'before-wordshift-off', env: { TRENDS_WORD_SHIFT: 'off' }, root: beforeRoot },
                ];
          // Word-shift bookkeeping (H5) costs per post: shown on and off when the aggregator has the switch.
          if ('TRENDS_WORD_SHIFT' in trendsConfig()) variants.push({ name: 'after-wordshift-off', env: { TRENDS_WORD_SHIFT: 'off' } });
          // A diagnostic: the aggregator under other Node flags (e.g. a larger young generation), same code.
          const nodeOptions = process.env['BENCH_TRENDS_NODE_OPTIONS'];
          if (nodeOptions !== undefined && nodeOptions !== '') variants.push({ name: 'after-node-options', env: { NODE_OPTIONS: nodeOptions } });
          const only = splitList(args.only);
          const chosen = variants.filter((variant) => only.length === 0 || only.includes(variant.name));
          // The machine changes under a run (other work starts and stops): alternating the order (ABC, CBA, ABC …)
          // keeps a variant from always running first or last, and the median run of each is what is quoted.
          const runsOf = new Map<string, ConsumeOutcome[]>(chosen.map((variant) => [variant.name, []]));
          for (let round = 0; round < args.rounds; round++) {
            for (const variant of round % 2 === 0 ? chosen : [...chosen].reverse()) {
              const run = args.rounds === 1 ? variant.name : `${variant.name}-r${round + 1}`;
              runsOf.get(variant.name)!.push(await consumeVariant(bus, redis, prefix, variant, CONSUME_EVENTS, run));
              await dropPrefix(redis, `{${redisPrefix}:${run}`);
            }
          }
          const consume: Record<string, ConsumeOutcome & { runs?: RoundFigures[] }> = {};
          for (const [name, outcomes] of runsOf) consume[name] = args.rounds === 1 ? outcomes[0]! : { ...medianRun(outcomes), runs: outcomes.map(roundFigures) };
          results['consume'] = { posts: CONSUME_EVENTS, partitions: 3, beforeRef: args['before-ref'] ?? null, rounds: args.rounds, variants: consume, ratioAfterVsBefore: Number(((consume['after']?.postsPerSec ?? 0) / (consume['before']?.postsPerSec ?? 1)).toFixed(2)), ratioPerCpuSecondAfterVsBefore: Number(((consume['after']?.postsPerCpuSecond ?? 0) / (consume['before']?.postsPerCpuSecond ?? 1)).toFixed(2)), target: 50_000 };
          for (const variant of variants) {
            const outcome = consume[variant.name];
            if (outcome === undefined) continue; // left out by --only
            rows.push([
              `Kafka → one aggregator process → Redis [${variant.name}], posts/s`,
              `${outcome.postsPerSec} (${outcome.records} in ${outcome.seconds} s; ${outcome.postsPerCpuSecond ?? '?'} per aggregator CPU-s; CPU µs per record: aggregator ${perRecord(outcome.cpuSeconds, outcome.records)}, Redis ${perRecord(outcome.redisCpuSeconds, outcome.records)}, broker ${perRecord(outcome.brokerCpuSeconds, outcome.records)})` +
                (outcome.runs === undefined ? '' : `; median of ${outcome.runs.length}: ${outcome.runs.map((r) => r.postsPerSec).join(', ')}`),
              variant.name === 'after' ? '≥ 50,000' : '',
            ]);
            for (const stage of outcome.profileStages ?? []) rows.push([`  [${variant.name}] ${stage.stage}`, `${stage.usPerRecord} µs/record (${stage.pct} %)`, '']);
            for (const command of outcome.redisCommands) rows.push([`  [${variant.name}] Redis ${command.command}`, `${command.usPerRecord} µs/record (${command.calls} calls)`, '']);
          }
        } finally {
          await bus.deleteTopics(Object.values(topics)).catch((error: unknown) => logger.warn({ err: error }, 'could not delete bench topics'));
          await bus.close();
        }
      }
      if (!args['skip-replay']) {
        const prefix = `bench-trends-r-${suffix}.`;
        const bus = createKafkaBus({ brokers: BROKERS, clientId: `bench-trends-r-${suffix}`, topicPrefix: prefix, logger, maxWaitTimeMs: 100 });
        try {
          await bus.ensureTopics([{ name: topics.scored, partitions: 3 }]);
          const produceSeconds = await produce(bus, topics.scored, EVENTS);
          rows.push([`produce ${EVENTS} ScoredPosts to Kafka (setup)`, `${produceSeconds.toFixed(1)} s`, '']);
          const env = { KAFKA_BROKERS: BROKERS.join(','), REDIS_URL, MOODSTREAM_TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' };
          const summary = (r: ReplayOutcome) => ({
            seconds: Number(r.seconds.toFixed(1)),
            cpuSeconds: r.cpuSeconds,
            postsPerCpuSecond: r.cpuSeconds === null || r.cpuSeconds === 0 ? null : Math.round(EVENTS / r.cpuSeconds),
            redisCpuSeconds: r.redisCpuSeconds,
          });
          const row = (name: string, r: ReplayOutcome): string =>
            `${r.seconds.toFixed(1)} s, processed ${String(r.status['processed'])}, state ${String(r.status['state'])}; replay CPU ${r.cpuSeconds ?? '?'} s, Redis ${r.redisCpuSeconds ?? '?'} CPU-s${name}`;
          // --before-ref: the other commit's replay CLI on the same records first, so one run compares two versions.
          let before: ReplayOutcome | undefined;
          if (args['before-ref'] !== undefined) {
            const beforeRoot = await checkoutOf(args['before-ref']);
            cleanups.push(() => rm(beforeRoot, { recursive: true, force: true }));
            before = await replayCli({ ...env, TRENDS_REDIS_PREFIX: `${redisPrefix}:cli-before` }, redis, beforeRoot);
            rows.push([`replay ${EVENTS} posts / 24 h --speed max [before: ${args['before-ref']}]`, row('', before), '']);
          }
          const replay = await replayCli({ ...env, TRENDS_REDIS_PREFIX: `${redisPrefix}:cli` }, redis);
          results['replay'] = {
            posts: EVENTS,
            historyHours: 24,
            source: 'kafka',
            ...summary(replay),
            command: replay.command,
            status: replay.status,
            target: 30,
            ...(before === undefined ? {} : { beforeRef: args['before-ref'], before: summary(before), ratioSecondsBeforeVsAfter: Number((before.seconds / replay.seconds).toFixed(2)) }),
          };
          rows.push([`replay ${EVENTS} posts / 24 h --speed max (Kafka, CLI)`, row(before === undefined ? '' : ` (×${(before.seconds / replay.seconds).toFixed(2)} vs before)`, replay), '≤ 30 s']);
        } finally {
          await bus.deleteTopics(Object.values(topics)).catch((error: unknown) => logger.warn({ err: error }, 'could not delete bench topics'));
          await bus.close();
        }
      }
    } else if (!args['skip-replay']) {
      const replay = await replayInProcess(redis);
      results['replay'] = { posts: EVENTS, historyHours: 24, source: 'memory', seconds: Number(replay.seconds.toFixed(1)), command: replay.command, status: replay.status, target: 30 };
      rows.push([`replay ${EVENTS} posts / 24 h at max (memory bus)`, `${replay.seconds.toFixed(1)} s`, '≤ 30 s']);
    }
  } finally {
    for (const cleanup of cleanups) await cleanup();
    await dropPrefix(redis, redisPrefix);
    await dropPrefix(redis, `{${redisPrefix}`);
    await redis.quit();
  }
  await mkdir(path.dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  const width = Math.max(...rows.map((r) => r[0].length));
  console.log(`\ntrends benchmark (${new Date().toISOString()}, ${availableParallelism()} cpus)\n`);
  console.log(`${'measure'.padEnd(width)} | result | target`);
  for (const [what, value, target] of rows) console.log(`${what.padEnd(width)} | ${value} | ${target}`);
  console.log(`\nwritten to ${path.relative(ROOT, RESULTS)}`);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
