/**
 * Trends benchmark (not part of `npm test`):
 *
 *   npm run bench:trends                         # everything below with the defaults
 *   options: --events 1000000 --throughput-events 200000 --runs 3 --batch 5000 --skip-replay --skip-consume
 *
 * 1. Aggregation into Redis per aggregator process: synthetic ScoredPosts (5 topics, each counted under its
 *    topic and "all") through the service's ingest path into the Redis store, batches of --batch; median of
 *    --runs. Baseline in the same run: the same path one post per call (one script call per post).
 * 2. With KAFKA_BROKERS: the same through Kafka — --events posts produced to a scratch topic and consumed
 *    by the aggregator's consumer group into Redis (posts/s from start to caught up).
 * 3. Replay: --events posts spread over 24 h of history replayed with the replay CLI at --speed max
 *    (`replay --topic all --from … --to … --speed max`) from Kafka when KAFKA_BROKERS is set, else
 *    in-process from the memory bus. Target ≤ 2 min for 1,000,000.
 * Writes bench/results/trends.json. Scratch topics and Redis keys are removed afterwards.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createKafkaBus, createMemoryBus, type Bus } from '@moodstream/bus';
import { createLogger, sleep, splitList } from '@moodstream/core';
import { topicNames, type ScoredPost } from '@moodstream/events';
import { BASELINE_SHARES, createRedisTrendsStore, createTrendsService, syntheticScoredPosts, trendsConfig, type TrendsService } from '@moodstream/trends';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = path.join(ROOT, 'bench', 'results', 'trends.json');
const logger = createLogger('bench-trends', { level: process.env['LOG_LEVEL'] ?? 'warn' });
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const BROKERS = splitList(process.env['KAFKA_BROKERS']);

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'throughput-events': { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '5000' },
    'skip-replay': { type: 'boolean', default: false },
    'skip-consume': { type: 'boolean', default: false },
  },
});
const EVENTS = Number(args.events);
const THROUGHPUT_EVENTS = Number(args['throughput-events']);
const RUNS = Number(args.runs);
const BATCH = Number(args.batch);
const TOPICS = ['politics', 'music', 'weather', 'sports', 'gaming'];
/**
 * 24 h of history starting 23 h ago (minute-aligned): the shared broker deletes records older than 24 h by their
 * timestamps (log.retention.hours=24), so older history would vanish during the run.
 */
const H0 = Math.floor((Date.now() - 23 * 3_600_000) / 60_000) * 60_000;
const DAY = 86_400_000;
const suffix = randomBytes(4).toString('hex');
const redisPrefix = `bench:trends:${suffix}`;

function stream(count: number): Generator<ScoredPost> {
  const perTopicPerMinute = count / (TOPICS.length * 1_440);
  return syntheticScoredPosts({ start: H0, durationMs: DAY, ratePerMinute: perTopicPerMinute, topics: TOPICS, shares: () => BASELINE_SHARES, seed: 11, idPrefix: `b${suffix}` });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

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

async function produce(bus: Bus, topic: string, count: number): Promise<number> {
  const producer = await bus.producer();
  const began = performance.now();
  let batch: ScoredPost[] = [];
  const flush = async () => {
    await producer.send(topic, 'ScoredPost', batch.map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp })));
    batch = [];
  };
  for (const post of stream(count)) {
    batch.push(post);
    if (batch.length >= 2_000) await flush();
  }
  if (batch.length > 0) await flush();
  await producer.close();
  return (performance.now() - began) / 1000;
}

async function consumeRate(redis: Redis, bus: Bus, count: number): Promise<number> {
  let consumed = 0;
  const svc = createTrendsService({
    bus,
    store: createRedisTrendsStore(redis, { prefix: `${redisPrefix}:consume` }),
    logger,
    config: trendsConfig({ TRENDS_ALLOWED_LATENESS_MS: 2 * DAY, TRENDS_BATCH_SIZE: BATCH }),
    // The bus adds the scratch prefix itself.
    topics: topicNames(),
    groupId: `bench-${suffix}-consume`,
    metrics: { onBatch: (r) => (consumed += r.accepted + r.late) },
  });
  const began = performance.now();
  await svc.start();
  const deadline = Date.now() + 15 * 60_000;
  while (consumed < count && Date.now() < deadline) await sleep(100);
  const seconds = (performance.now() - began) / 1000;
  await svc.stop();
  if (consumed < count) throw new Error(`consumed only ${consumed} of ${count} in 15 min`);
  return count / seconds;
}

/** Runs the replay CLI exactly as a person would; returns wall seconds and its final status. */
function replayCli(env: Record<string, string>): Promise<{ seconds: number; status: Record<string, unknown>; command: string }> {
  const cliArgs = ['--topic', 'all', '--from', new Date(H0).toISOString(), '--to', new Date(H0 + DAY).toISOString(), '--speed', 'max'];
  const command = `npm run replay -- ${cliArgs.join(' ')}`;
  return new Promise((resolve, reject) => {
    const began = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'libs/trends/src/bin/replay.ts'), ...cliArgs], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
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
      const seconds = (performance.now() - began) / 1000;
      if (code !== 0) return reject(new Error(`replay CLI exited ${code}: ${out}`));
      resolve({ seconds, status: JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>, command });
    });
  });
}

async function replayInProcess(redis: Redis): Promise<{ seconds: number; status: Record<string, unknown>; command: string }> {
  const bus = createMemoryBus({ defaultPartitions: 3 });
  const topics = topicNames();
  await produce(bus, topics.scored, EVENTS);
  const svc = createTrendsService({ bus, store: createRedisTrendsStore(redis, { prefix: `${redisPrefix}:replay` }), logger, config: trendsConfig(), topics, groupId: 'bench', consume: false });
  await svc.start();
  const began = performance.now();
  const { id } = svc.startReplay({ topic: 'all', from: H0, to: H0 + DAY, speed: 'max', rescore: false });
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
  try {
    // 1. Ingest path.
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
    await dropPrefix(redis, redisPrefix);
    const ingestMedian = median(rates);
    results['ingest'] = { posts: posts.length, batch: BATCH, runs: rates.map(Math.round), medianPostsPerSec: Math.round(ingestMedian), incrementsPerPost: 2, baselineOnePostPerCall: Math.round(baseline), ratioVsBaseline: Number((ingestMedian / baseline).toFixed(1)), target: 20_000 };
    rows.push(['aggregation into Redis (ingest path), posts/s', `${Math.round(ingestMedian)} (median of ${RUNS}: ${rates.map(Math.round).join(', ')})`, '≥ 20,000']);
    rows.push(['baseline: one post per script call, posts/s', `${Math.round(baseline)} (×${(ingestMedian / baseline).toFixed(1)} batched)`, '']);

    if (BROKERS.length > 0) {
      const prefix = `bench-trends-${suffix}.`;
      const bus = createKafkaBus({ brokers: BROKERS, clientId: `bench-trends-${suffix}`, topicPrefix: prefix, logger, maxWaitTimeMs: 100 });
      const topics = topicNames();
      try {
        await bus.ensureTopics([{ name: topics.scored, partitions: 3 }, { name: topics.alerts, partitions: 1 }, { name: topics.deadLetter, partitions: 1 }]);
        const produceSeconds = await produce(bus, topics.scored, EVENTS);
        results['produce'] = { posts: EVENTS, seconds: Number(produceSeconds.toFixed(1)) };
        rows.push([`produce ${EVENTS} ScoredPosts to Kafka (setup)`, `${produceSeconds.toFixed(1)} s`, '']);
        if (!args['skip-consume']) {
          const consumerBus = createKafkaBus({ brokers: BROKERS, clientId: `bench-trends-c-${suffix}`, topicPrefix: prefix, logger, maxWaitTimeMs: 100 });
          const consume = await consumeRate(redis, consumerBus, EVENTS).finally(() => consumerBus.close());
          await dropPrefix(redis, `${redisPrefix}:consume`);
          results['consume'] = { posts: EVENTS, postsPerSec: Math.round(consume) };
          rows.push(['Kafka → aggregator → Redis (consumer group), posts/s', `${Math.round(consume)}`, '≥ 20,000']);
        }
        if (!args['skip-replay']) {
          const replay = await replayCli({ KAFKA_BROKERS: BROKERS.join(','), REDIS_URL, MOODSTREAM_TOPIC_PREFIX: prefix, TRENDS_REDIS_PREFIX: `${redisPrefix}:cli`, LOG_LEVEL: 'warn' });
          results['replay'] = { posts: EVENTS, historyHours: 24, source: 'kafka', seconds: Number(replay.seconds.toFixed(1)), command: replay.command, status: replay.status, target: 120 };
          rows.push([`replay ${EVENTS} posts / 24 h --speed max (Kafka, CLI)`, `${replay.seconds.toFixed(1)} s, processed ${String(replay.status['processed'])}, state ${String(replay.status['state'])}`, '≤ 120 s']);
        }
      } finally {
        await bus.deleteTopics(Object.values(topics)).catch((error: unknown) => logger.warn({ err: error }, 'could not delete bench topics'));
        await bus.close();
      }
    } else if (!args['skip-replay']) {
      const replay = await replayInProcess(redis);
      results['replay'] = { posts: EVENTS, historyHours: 24, source: 'memory', seconds: Number(replay.seconds.toFixed(1)), command: replay.command, status: replay.status, target: 120 };
      rows.push([`replay ${EVENTS} posts / 24 h at max (memory bus)`, `${replay.seconds.toFixed(1)} s`, '≤ 120 s']);
    }
  } finally {
    await dropPrefix(redis, redisPrefix);
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
