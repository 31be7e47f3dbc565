/**
 * Archive replay throughput onto real Kafka. Not part of `npm test`.
 *
 *   node --import tsx bench/ingester-archive.ts [--posts 100000] [--rounds 3]
 *
 * Rows (posts/s, median over rounds):
 *   - baseline: the same posts, already parsed, sent straight through a bus producer in batches of
 *     1,000 with 4 in flight — what the broker and the producer path allow, measured in this run;
 *   - archive (in-process): createIngesterApp in archive mode at --speed max on the NDJSON file
 *     (read, parse, validate, de-duplicate, produce) and its ratio to the baseline;
 *   - archive (CLI, once): `node apps/ingester/src/main.ts archive --file F --speed max` as a
 *     process, wall time including start-up.
 * Needs KAFKA_BROKERS (default 127.0.0.1:9092). Writes bench/results/ingester-archive.json.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createKafkaBus } from '@moodstream/bus';
import { createLimit, createLogger, parseCommandLineOrExit, parseConfig } from '@moodstream/core';
import { EMOTIONS, TOPICS, type Post } from '@moodstream/events';
import { createIngesterApp, IngesterConfigSchema } from '@moodstream/ingester';
import { median } from './stats';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
const { values } = parseCommandLineOrExit({
  command: 'node --import tsx bench/ingester-archive.ts',
  summary: 'archive replay throughput onto real Kafka, against a bare producer baseline measured in the same run (bench/results/ingester-archive.json)',
  options: {
    posts: { type: 'number', default: 100000, integer: true, positive: true, description: 'posts in the archive file' },
    rounds: { type: 'number', default: 3, integer: true, positive: true, description: 'rounds per row (medians are quoted)' },
  },
  notes: 'Needs KAFKA_BROKERS (default 127.0.0.1:9092).',
});
const COUNT = values.posts;
const ROUNDS = values.rounds;
const silent = createLogger('bench', { level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) });

function makePosts(count: number): Post[] {
  const words = ['today', 'was', 'really', 'great', 'awful', 'my', 'cat', 'friends', 'so', 'the', 'weather', 'movie', 'train', 'late', 'coffee'];
  const start = Date.now() - count * 50;
  return Array.from({ length: count }, (_, i) => {
    const label = EMOTIONS[i % EMOTIONS.length] as Post['label'] & string;
    const text = Array.from({ length: 8 + (i % 25) }, (__, j) => words[(i * 7 + j * 3) % words.length]).join(' ');
    return {
      id: String(800_000_000_000_000_000n + BigInt(i)),
      blog: `blog${i % 5000}`,
      url: `https://blog${i % 5000}.tumblr.com/post/${800_000_000_000_000_000n + BigInt(i)}`,
      timestamp: start + i * 50,
      topics: [label],
      tags: [label, 'life'],
      text,
      imageUrl: i % 3 === 0 ? `https://64.media.tumblr.com/${i}/s400x300/x.jpg` : null,
      noteCount: i % 97,
      source: 'live',
      label,
      ingestedAt: start + i * 50 + 1000,
    };
  });
}

async function cleanup(prefix: string): Promise<void> {
  const bus = createKafkaBus({ brokers: BROKERS, clientId: 'bench-cleanup', topicPrefix: prefix });
  await bus.deleteTopics([TOPICS.posts]).catch(() => undefined);
  await bus.close();
}

async function baseline(posts: Post[]): Promise<number> {
  const prefix = `bench-archive-base-${randomBytes(3).toString('hex')}-`;
  const bus = createKafkaBus({ brokers: BROKERS, clientId: 'bench-baseline', topicPrefix: prefix, logger: silent });
  await bus.ensureTopics([{ name: TOPICS.posts }]);
  const producer = await bus.producer();
  const started = performance.now();
  const batches = Array.from({ length: Math.ceil(posts.length / 1000) }, (_, i) => posts.slice(i * 1000, (i + 1) * 1000));
  await createLimit(4).map(batches, (batch) => producer.send(TOPICS.posts, 'Post', batch.map((p) => ({ key: p.id, value: p, timestamp: p.timestamp }))));
  const seconds = (performance.now() - started) / 1000;
  await producer.close();
  await bus.close();
  await cleanup(prefix);
  return posts.length / seconds;
}

async function archiveInProcess(file: string): Promise<{ rate: number; produced: number }> {
  const prefix = `bench-archive-app-${randomBytes(3).toString('hex')}-`;
  const bus = createKafkaBus({ brokers: BROKERS, clientId: 'bench-archive', topicPrefix: prefix, logger: silent });
  const config = parseConfig(IngesterConfigSchema, { INGEST_STORE: 'memory', KAFKA_BROKERS: BROKERS.join(',') });
  const app = createIngesterApp({ config, bus, logger: silent, run: { mode: 'archive', file, speed: 'max' } });
  await bus.ensureTopics([{ name: TOPICS.posts }]);
  const started = performance.now();
  await app.start();
  await app.done;
  const seconds = (performance.now() - started) / 1000;
  const produced = app.stats().produced;
  await app.stop();
  await bus.close();
  await cleanup(prefix);
  return { rate: produced / seconds, produced };
}

function archiveCli(file: string): Promise<{ rate: number; seconds: number; code: number | null }> {
  const prefix = `bench-archive-cli-${randomBytes(3).toString('hex')}-`;
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/ingester/src/main.ts', 'archive', '--file', file, '--speed', 'max'], {
      cwd: ROOT,
      env: { ...process.env, KAFKA_BROKERS: BROKERS.join(','), MOODSTREAM_TOPIC_PREFIX: prefix, METRICS_PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.once('exit', (code) => {
      const seconds = (performance.now() - started) / 1000;
      void cleanup(prefix).then(() => resolve({ rate: COUNT / seconds, seconds, code }));
    });
  });
}

const loadAtStart = loadavg()[0] ?? 0;
const dir = mkdtempSync(path.join(tmpdir(), 'bench-archive-'));
try {
  const posts = makePosts(COUNT);
  const file = path.join(dir, 'posts.ndjson');
  writeFileSync(file, posts.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const baseRates: number[] = [];
  const appRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    baseRates.push(await baseline(posts));
    const result = await archiveInProcess(file);
    if (result.produced !== COUNT) throw new Error(`archive produced ${result.produced} of ${COUNT}`);
    appRates.push(result.rate);
    process.stderr.write(`round ${round + 1}/${ROUNDS}: baseline ${baseRates.at(-1)?.toFixed(0)} posts/s, archive ${appRates.at(-1)?.toFixed(0)} posts/s\n`);
  }
  const cli = await archiveCli(file);
  if (cli.code !== 0) throw new Error(`archive CLI exited ${cli.code}`);
  const result = {
    benchmark: 'ingester-archive',
    posts: COUNT,
    rounds: ROUNDS,
    brokers: BROKERS,
    baselineProducerPostsPerSecond: { median: Math.round(median(baseRates)), runs: baseRates.map(Math.round) },
    archiveInProcessPostsPerSecond: { median: Math.round(median(appRates)), runs: appRates.map(Math.round) },
    archiveToBaselineRatio: Number((median(appRates) / median(baseRates)).toFixed(3)),
    archiveCli: { postsPerSecond: Math.round(cli.rate), seconds: Number(cli.seconds.toFixed(2)), includesProcessStartup: true },
    machine: '2 cores, shared and noisy; one Kafka broker on loopback',
    // Other work on the machine moves both rows; the ratio is the number to compare across runs.
    loadAverage1m: { atStart: Number(loadAtStart.toFixed(2)), atEnd: Number((loadavg()[0] ?? 0).toFixed(2)) },
    measuredAt: new Date().toISOString(),
  };
  const rows: [string, string, string][] = [
    ['baseline producer (parsed posts)', `${result.baselineProducerPostsPerSecond.median}`, '1.000'],
    ['archive --speed max (in-process)', `${result.archiveInProcessPostsPerSecond.median}`, result.archiveToBaselineRatio.toFixed(3)],
    ['archive --speed max (CLI, once)', `${result.archiveCli.postsPerSecond}`, (result.archiveCli.postsPerSecond / result.baselineProducerPostsPerSecond.median).toFixed(3)],
  ];
  process.stdout.write(`\n${COUNT} posts onto Kafka, median of ${ROUNDS} rounds\n`);
  process.stdout.write(`${'row'.padEnd(36)} ${'posts/s'.padStart(10)} ${'× baseline'.padStart(11)}\n`);
  for (const [name, rate, ratio] of rows) process.stdout.write(`${name.padEnd(36)} ${rate.padStart(10)} ${ratio.padStart(11)}\n`);
  await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(path.join(ROOT, 'bench', 'results', 'ingester-archive.json'), JSON.stringify(result, null, 2) + '\n');
  process.stdout.write('wrote bench/results/ingester-archive.json\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
