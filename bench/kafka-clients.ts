/**
 * Is the Kafka client the limit of the trends aggregator's consume path (issue 14 item 6)? A probe, not a bus: the same
 * records read by kafkajs the way libs/bus reads them (eachBatch, three partitions taken up together, the aggregator's
 * fetch sizes, a commit per batch) and by @platformatic/kafka's consumer with the same fetch sizes and a commit per
 * fetch, each alone ("raw": only `value` touched) and followed by the project's edge decode of every record ("edge":
 * header strings and `decodeEvent('ScoredPost', …)`, as the bus does before any handler). Each measurement runs in a
 * fresh child process (no JIT or heap state carried between variants), rounds alternate the variants, and the table
 * gives the median of the rounds: records/s (wall, first record to last) and the child's CPU µs per record
 * (process.cpuUsage over the same span, so GC and the client's network work are in it).
 *
 * @platformatic/kafka is not a dependency of the project (it lost this comparison: docs/benchmarks.md, "Eighth pass"):
 * install it for a run with `npm install --no-save @platformatic/kafka@~1.35.0` (the 2.x line needs Node >= 22).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaBus, decodeEvent, headersToStrings } from '@moodstream/bus';
import { parseCommandLineOrExit } from '@moodstream/core';
import type { Headers } from '@moodstream/events';
import { BASELINE_SHARES, syntheticScoredPosts } from '@moodstream/trends';
import { median } from './stats';

const VARIANTS = ['kafkajs-raw', 'platformatic-raw', 'kafkajs-edge', 'platformatic-edge'] as const;
type Variant = (typeof VARIANTS)[number];

const { values: args } = parseCommandLineOrExit({
  command: 'node --import tsx bench/kafka-clients.ts',
  summary: 'consume the same ScoredPost records with kafkajs and @platformatic/kafka, raw and with the bus edge decode',
  options: {
    records: { type: 'number', integer: true, nonNegative: true, default: 300_000, description: 'records produced to the scratch topic' },
    rounds: { type: 'number', integer: true, nonNegative: true, default: 3, description: 'alternating rounds (median quoted)' },
    'fetch-bytes': { type: 'number', integer: true, nonNegative: true, default: 4 * 1_048_576, description: "bytes per partition per fetch (the aggregator's TRENDS_FETCH_MAX_BYTES default)" },
    variants: { type: 'string', default: VARIANTS.join(','), description: `comma-separated subset of ${VARIANTS.join(', ')}` },
    profile: { type: 'string', valueName: 'DIR', description: 'write V8 CPU profiles of every child in a folder per child under DIR (the largest file is the main thread)' },
    out: { type: 'string', valueName: 'FILE', default: 'bench/results/kafka-clients.json', description: 'where the results go' },
    // Internal: the parent runs each measurement as a child with these three.
    child: { type: 'string', choices: [...VARIANTS], description: '(internal) measure one variant and print JSON' },
    topic: { type: 'string', description: '(internal) the physical topic a child reads' },
  },
  examples: ['KAFKA_BROKERS=127.0.0.1:9092 flock /tmp/bench.lock nice -n -10 node --import tsx bench/kafka-clients.ts'],
  notes: 'Environment: KAFKA_BROKERS (required). A scratch topic with 3 partitions is created and deleted afterwards.',
});

const BROKERS = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter((b) => b !== '');
const FETCH_BYTES = args['fetch-bytes'];
/** kafkajs's total per fetch as libs/bus sets it (kafka-bus.ts): a few partitions' worth, at least 10 MiB. */
const FETCH_TOTAL_BYTES = Math.max(10 * 1_048_576, 4 * FETCH_BYTES);
/** The bus's idle fetch wait (options.ts maxWaitTimeMs default). */
const MAX_WAIT_MS = 1_000;
/** The aggregator's posts span one hour, as in bench/trends.ts's consume measurement. */
const SPAN_MS = 3_600_000;
const TOPICS = ['politics', 'music', 'weather', 'sports', 'gaming'];
/** A child that has not seen every record by then has failed (a hang is not a measurement). */
const CHILD_TIMEOUT_MS = 180_000;

interface Measurement {
  variant: Variant;
  records: number;
  wallSeconds: number;
  cpuSeconds: number;
  recordsPerSecond: number;
  cpuUsPerRecord: number;
  /** Records the edge decode refused (must be 0: every produced record is valid). */
  refused: number;
}

/**
 * Wall time from the first record to the last (the group join waits out the broker's rebalance delay, which is not the
 * client's speed); CPU from before the subscription to the last record, so the first fetch's decode (which both
 * clients do before handing out its first record) is counted too — the join's few milliseconds of CPU with it.
 */
class Span {
  private readonly startCpu = process.cpuUsage();
  private startWall: number | null = null;
  seen = 0;
  refused = 0;
  constructor(private readonly total: number) {}

  /** Called as records arrive, before any work on them: the wall span starts at the first. */
  begin(): void {
    this.startWall ??= performance.now();
  }

  /** Counts `n` records done (and committed); true once all are in. */
  add(n: number): boolean {
    this.seen += n;
    return this.seen >= this.total;
  }

  result(variant: Variant): Measurement {
    const cpu = process.cpuUsage(this.startCpu);
    const wallSeconds = (performance.now() - (this.startWall ?? Number.NaN)) / 1000;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    return {
      variant,
      records: this.seen,
      wallSeconds,
      cpuSeconds,
      recordsPerSecond: this.seen / wallSeconds,
      cpuUsPerRecord: (cpuSeconds * 1e6) / this.seen,
      refused: this.refused,
    };
  }
}

const PLATFORMATIC = '@platformatic/kafka';

/** The parts of @platformatic/kafka 1.x's consumer this probe uses (typed here: the package is not installed by default). */
interface PlatformaticMessage {
  value: Buffer | null | undefined;
  headers: Map<unknown, unknown>;
  partition: number;
  commit(): Promise<void>;
}
interface PlatformaticStream {
  on(event: 'data', listener: (message: PlatformaticMessage) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  close(): Promise<void>;
}
interface PlatformaticModule {
  Consumer: new (options: Record<string, unknown>) => { consume(options: Record<string, unknown>): Promise<PlatformaticStream>; close(): Promise<void> };
  stringDeserializer: (data?: Buffer) => string | undefined;
}

async function loadPlatformatic(): Promise<PlatformaticModule> {
  // A specifier in a variable: the type-check must not need the package, which is installed only for this probe.
  const name: string = PLATFORMATIC;
  try {
    return (await import(name)) as PlatformaticModule;
  } catch (error) {
    throw new Error(`${name} is not installed (not a dependency of the project): run \`npm install --no-save ${name}@~1.35.0\` first, or pass --variants kafkajs-raw,kafkajs-edge`, { cause: error });
  }
}

/** Promise.withResolvers is Node 22; this is Node 20. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function childKafkajs(topic: string, total: number, edge: boolean, variant: Variant): Promise<Measurement> {
  const kafka = new Kafka({ clientId: 'bench-kafka-clients', brokers: BROKERS, logLevel: logLevel.WARN });
  const consumer = kafka.consumer({
    groupId: `${topic}.${variant}.${randomBytes(3).toString('hex')}`,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: MAX_WAIT_MS,
    maxBytesPerPartition: FETCH_BYTES,
    maxBytes: FETCH_TOTAL_BYTES,
  });
  const span = new Span(total);
  let sink = 0;
  const done = deferred();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
      span.begin();
      for (const m of batch.messages) {
        if (!edge) {
          sink += m.value?.length ?? 0;
          continue;
        }
        const decoded = decodeEvent('ScoredPost', m.value, headersToStrings(m.headers));
        if (decoded.ok) sink += decoded.value.topics.length;
        else span.refused += 1;
      }
      if (batch.messages.length === 0) return;
      resolveOffset(batch.lastOffset());
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
      if (span.add(batch.messages.length)) done.resolve();
    },
  });
  await done.promise;
  const result = span.result(variant);
  await consumer.disconnect();
  if (sink < 0) throw new Error('unreachable: keeps the touched values alive');
  return result;
}

async function childPlatformatic(topic: string, total: number, edge: boolean, variant: Variant): Promise<Measurement> {
  const { Consumer, stringDeserializer } = await loadPlatformatic();
  const consumer = new Consumer({
    clientId: 'bench-kafka-clients',
    bootstrapBrokers: BROKERS,
    groupId: `${topic}.${variant}.${randomBytes(3).toString('hex')}`,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTime: MAX_WAIT_MS,
    maxBytes: FETCH_TOTAL_BYTES,
    maxBytesPerPartition: FETCH_BYTES,
    autocommit: false,
    // Raw: Buffers as fetched (no deserialiser runs). Edge: the client turns header bytes into strings itself.
    ...(edge ? { deserializers: { headerKey: stringDeserializer, headerValue: stringDeserializer } } : {}),
  });
  const span = new Span(total);
  let sink = 0;
  const done = deferred();
  const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
  /** Newest message per partition since the last commit: one commit per partition per fetch, as kafkajs's per batch. */
  const newest = new Map<number, PlatformaticMessage>();
  let commitScheduled = false;
  let pending = 0;
  const commit = (): void => {
    commitScheduled = false;
    const messages = [...newest.values()];
    newest.clear();
    const n = pending;
    pending = 0;
    void Promise.all(messages.map((m) => m.commit())).then(() => {
      if (span.add(n)) done.resolve();
    }, done.reject);
  };
  stream.on('data', (m) => {
    span.begin();
    if (edge) {
      const headers: Headers = {};
      for (const [name, value] of m.headers) headers[String(name)] = String(value);
      const decoded = decodeEvent('ScoredPost', m.value ?? null, headers);
      if (decoded.ok) sink += decoded.value.topics.length;
      else span.refused += 1;
    } else {
      sink += m.value?.length ?? 0;
    }
    newest.set(m.partition, m);
    pending += 1;
    // A fetch's records arrive in one synchronous burst: the commit follows once it ends.
    if (!commitScheduled) {
      commitScheduled = true;
      setImmediate(commit);
    }
  });
  stream.on('error', done.reject);
  await done.promise;
  const result = span.result(variant);
  await stream.close();
  await consumer.close();
  if (sink < 0) throw new Error('unreachable: keeps the touched values alive');
  return result;
}

async function runChild(variant: Variant, topic: string): Promise<void> {
  const edge = variant.endsWith('-edge');
  const work = variant.startsWith('kafkajs') ? childKafkajs(topic, args.records, edge, variant) : childPlatformatic(topic, args.records, edge, variant);
  const timer = setTimeout(() => {
    process.stderr.write(`${variant}: not every record arrived within ${CHILD_TIMEOUT_MS} ms\n`);
    process.exit(1);
  }, CHILD_TIMEOUT_MS);
  const result = await work;
  clearTimeout(timer);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

function measure(variant: Variant, topic: string): Promise<Measurement> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const profile = args.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', path.join(args.profile, `${variant}.${Date.now()}`)];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', script, '--child', variant, '--topic', topic, '--records', String(args.records), '--fetch-bytes', String(FETCH_BYTES)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`${variant} child exited ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Measurement);
    });
  });
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  if (BROKERS.length === 0) throw new Error('KAFKA_BROKERS is not set: this probe needs the real broker');
  if (args.child !== undefined) {
    if (args.topic === undefined) throw new Error('--child needs --topic');
    return runChild(args.child as Variant, args.topic);
  }
  const variants = args.variants.split(',').map((v) => v.trim());
  for (const v of variants) if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`unknown variant '${v}' (known: ${VARIANTS.join(', ')})`);
  if (args.rounds < 1 || args.records < 1) throw new Error('--rounds and --records must be at least 1');
  const withPlatformatic = variants.some((v) => v.startsWith('platformatic'));
  // Before producing anything: a missing client is a clear error, not a child's crash minutes later.
  if (withPlatformatic) await loadPlatformatic();

  const suffix = randomBytes(4).toString('hex');
  const bus = createKafkaBus({ brokers: BROKERS, clientId: 'bench-kafka-clients', topicPrefix: `bench.kclients.${suffix}.` });
  const logical = 'scored';
  const topic = `bench.kclients.${suffix}.${logical}`;
  const began = new Date();
  const loadBefore = load();
  const rows: Measurement[] = [];
  try {
    await bus.ensureTopics([{ name: logical, partitions: 3 }]);
    const producer = await bus.producer();
    const h0 = Math.floor((Date.now() - 2 * SPAN_MS) / 60_000) * 60_000;
    const perTopicPerMinute = args.records / (TOPICS.length * (SPAN_MS / 60_000));
    let batch = [];
    let produced = 0;
    const produceStart = performance.now();
    for (const post of syntheticScoredPosts({ start: h0, durationMs: SPAN_MS, ratePerMinute: perTopicPerMinute, topics: TOPICS, shares: () => BASELINE_SHARES, seed: 11, idPrefix: `k${suffix}` })) {
      batch.push({ key: post.postId, value: post, timestamp: post.timestamp });
      if (batch.length >= 2_000) {
        await producer.send(logical, 'ScoredPost', batch);
        produced += batch.length;
        batch = [];
      }
      if (produced + batch.length >= args.records) break;
    }
    if (batch.length > 0) await producer.send(logical, 'ScoredPost', batch);
    produced += batch.length;
    await producer.close();
    console.log(`produced ${produced} records to ${topic} in ${((performance.now() - produceStart) / 1000).toFixed(1)} s; load ${load()}`);
    if (produced !== args.records) throw new Error(`produced ${produced} records, expected ${args.records}`);

    for (let round = 1; round <= args.rounds; round += 1) {
      // Alternating order across rounds, so no variant always runs first (or last) in a round.
      const order = round % 2 === 1 ? variants : [...variants].reverse();
      for (const v of order) {
        const m = await measure(v as Variant, topic);
        if (m.refused !== 0) throw new Error(`${v}: the edge decode refused ${m.refused} valid records`);
        rows.push(m);
        console.log(`round ${round} ${v.padEnd(18)} ${Math.round(m.recordsPerSecond).toLocaleString('en-US').padStart(9)} records/s  ${m.cpuUsPerRecord.toFixed(2).padStart(6)} µs CPU/record  load ${load()}`);
      }
    }
  } finally {
    await bus.deleteTopics([logical]).catch((error: unknown) => console.error('could not delete the scratch topic', error));
    await bus.close();
  }

  const summary = variants.map((v) => {
    const mine = rows.filter((r) => r.variant === v);
    return {
      variant: v,
      recordsPerSecond: Math.round(median(mine.map((r) => r.recordsPerSecond))),
      cpuUsPerRecord: Number(median(mine.map((r) => r.cpuUsPerRecord)).toFixed(2)),
      rounds: mine.map((r) => ({ recordsPerSecond: Math.round(r.recordsPerSecond), cpuUsPerRecord: Number(r.cpuUsPerRecord.toFixed(2)) })),
    };
  });
  const baseline = (name: string) => summary.find((s) => s.variant === name);
  console.log(`\nmedian of ${args.rounds} rounds, ${args.records} records, 3 partitions, ${FETCH_BYTES} B/partition/fetch`);
  console.log('variant              records/s   µs CPU/record   vs kafkajs same mode (CPU µs saved)');
  for (const s of summary) {
    const base = baseline(s.variant.endsWith('-edge') ? 'kafkajs-edge' : 'kafkajs-raw');
    const saved = base === undefined || base === s ? '' : `${(base.cpuUsPerRecord - s.cpuUsPerRecord).toFixed(2)} µs, x${(s.recordsPerSecond / base.recordsPerSecond).toFixed(2)} records/s`;
    console.log(`${s.variant.padEnd(18)} ${s.recordsPerSecond.toLocaleString('en-US').padStart(11)}   ${s.cpuUsPerRecord.toFixed(2).padStart(13)}   ${saved}`);
  }
  const loadAfter = load();
  console.log(`load before ${loadBefore}, after ${loadAfter}`);

  const out = path.resolve(args.out);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(
    out,
    `${JSON.stringify(
      {
        command: ['node --import tsx', path.relative(process.cwd(), process.argv[1] ?? ''), ...process.argv.slice(2)].join(' '),
        startedAt: began.toISOString(),
        finishedAt: new Date().toISOString(),
        node: process.version,
        clients: { kafkajs: await versionOf('kafkajs'), ...(withPlatformatic ? { platformatic: await versionOf(PLATFORMATIC) } : {}) },
        records: args.records,
        partitions: 3,
        fetchBytesPerPartition: FETCH_BYTES,
        fetchTotalBytes: FETCH_TOTAL_BYTES,
        loadBefore,
        loadAfter,
        summary,
        runs: rows,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

/** The installed version, from the package's own package.json in the root node_modules (both are hoisted there). */
async function versionOf(name: string): Promise<string> {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  return (JSON.parse(await readFile(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

// A failed run says what failed in a line (and why, one level down), without a stack: exit 1.
await main().catch((error: unknown) => {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message.split('\n')[0]})` : '';
  process.stderr.write(`bench/kafka-clients.ts: ${error instanceof Error ? error.message : String(error)}${cause}\n`);
  process.exit(1);
});
