import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createKafkaBus, type Bus, type BusRecord } from '@moodstream/bus';
import { TOPICS, type Post } from '@moodstream/events';

/**
 * What the ingester's integration tests share: the ingester CLI as a child process on real Kafka and Redis, the
 * environment it runs with, and a run's own topic prefix and Redis keys, removed afterwards.
 */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface IngesterProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Both streams, in arrival order. */
  output: () => string;
  /** The exit code (once its output is all read); null when killed by a signal. */
  exited: Promise<number | null>;
  /** The ops port the runtime logged (METRICS_PORT=0 picks one). */
  metricsPort: Promise<number>;
}

/** `node apps/ingester/src/main.ts <args>`, as an operator would run it. */
export function spawnIngester(args: string[], env: NodeJS.ProcessEnv): IngesterProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/ingester/src/main.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let output = '';
  let resolvePort: (port: number) => void = () => undefined;
  const metricsPort = new Promise<number>((resolve) => (resolvePort = resolve));
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    output += chunk.toString('utf8');
    const match = /"port":(\d+),"msg":"ingester: \/healthz and \/metrics on port/.exec(stdout);
    if (match) resolvePort(Number(match[1]));
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    output += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, output: () => output, exited, metricsPort };
}

/** A run's own Kafka topics and Redis keys, and a bus and a Redis client to inspect them. */
export interface IngesterRun {
  topicPrefix: string;
  redisPrefix: string;
  bus: Bus;
  redis: Redis;
  /** The ingester's environment for this run: the stand-in, real Kafka, the Redis store, budgets far from binding. */
  env(standInUrl: string, extra?: Record<string, string>): NodeJS.ProcessEnv;
  /** Deletes the run's topic and keys and closes the clients. */
  cleanup(): Promise<void>;
}

export function openIngesterRun(name: string): IngesterRun {
  const id = `${name}-${randomBytes(4).toString('hex')}`;
  const topicPrefix = `${id}-`;
  const redisPrefix = id;
  const bus = createKafkaBus({ brokers: BROKERS.split(','), clientId: id, topicPrefix });
  const redis = new Redis(REDIS_URL);
  return {
    topicPrefix,
    redisPrefix,
    bus,
    redis,
    env: (standInUrl, extra = {}) => ({
      ...process.env,
      TUMBLR_API_URL: standInUrl,
      TUMBLR_API_KEY: 'standin-key',
      KAFKA_BROKERS: BROKERS,
      MOODSTREAM_TOPIC_PREFIX: topicPrefix,
      INGEST_STORE: 'redis',
      REDIS_URL,
      INGEST_REDIS_PREFIX: redisPrefix,
      INGEST_BUDGET_PER_MINUTE: '3000',
      INGEST_BUDGET_PER_HOUR: '100000',
      INGEST_BUDGET_PER_DAY: '100000',
      METRICS_PORT: '0',
      ...extra,
    }),
    async cleanup() {
      await bus.deleteTopics([TOPICS.posts]).catch(() => undefined);
      await bus.close();
      const keys = await redis.keys(`${redisPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}

/** How many times each post id is on the run's posts topic; `each` sees every record on the way. */
export async function postCounts(bus: Bus, each: (record: BusRecord<Post>) => void = () => undefined): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const batch of bus.readByTime({ topic: TOPICS.posts, eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })) {
    for (const record of batch) {
      each(record);
      counts.set(record.value.id, (counts.get(record.value.id) ?? 0) + 1);
    }
  }
  return counts;
}

/** SIGKILL a little after a Tumblr answer, so the kill can land while that page is being produced. */
export function killSoon(target: ChildProcess): void {
  setTimeout(() => target.kill('SIGKILL'), 3 + Math.floor(Math.random() * 25));
}
