import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { Bus } from '@moodstream/bus';
import { sleep } from '@moodstream/core';
import { TOPICS } from '@moodstream/events';
import type { RequestLogEntry } from '@moodstream/tumblr';
import { ROOT } from '../support/ingester-harness';
import type { AppName, Pipeline, PipelineOptions } from './pipeline';
import type { PrivateServices } from './private-services';
import type { StreamOptions } from './stream';
import { twoDashboards } from './two-dashboards';

/**
 * The faults the suite drives through the pipeline. Every moment is drawn from the scenario's seeded random source,
 * so a run is repeated with `--seed N`.
 */
export interface ScenarioContext {
  id: string;
  pipeline: Pipeline;
  services: PrivateServices;
  random: () => number;
  bus: Bus;
  redis: Redis;
  /** How long the stand-in takes to reveal the whole stream, ms. */
  feedMs: number;
  /** A line for the suite's progress log (and the table's notes). */
  note(line: string): void;
  /** A check of the scenario's own that did not hold: the scenario fails (the measurement still runs). */
  fail(line: string): void;
  /** The stream's time range, epoch ms (what a replay of it covers). */
  range: { from: number; to: number };
  /** Set by a scenario that kills the ingester mid-page: called on each `/v2/tagged` answer. */
  onRequest: ((entry: RequestLogEntry) => void) | undefined;
  /** Where the children's output lines go. */
  logFile: string;
}

export interface Scenario {
  name: string;
  stream?: Partial<StreamOptions>;
  env?: PipelineOptions['env'];
  /** Runs before the pipeline starts (e.g. building what the scenario starts later). */
  prepare?(): Promise<void>;
  /** Runs while the stream is being revealed. */
  during?(ctx: ScenarioContext): Promise<void>;
  /** Runs once the pipeline settled, before the final measurement (e.g. the rebuild after a flush). */
  after?(ctx: ScenarioContext): Promise<void>;
  /** Dead letters this scenario plants, by `source topic: reason prefix`; null: none expected. */
  deadLetters?: number;
  /** Whether the planted alert must be among the live alerts at the end. */
  expectPlantedAlert?: boolean;
  /** Every image post must be scored text-only with an image error, none taking longer to fetch than this (ms). */
  imageErrorsWithin?: number;
}

/** `times` moments spread over [from, to] of the feed, each drawn at random within its own slice, ascending. */
function moments(ctx: ScenarioContext, times: number, from = 0.1, to = 0.85): number[] {
  const slice = (to - from) / times;
  return Array.from({ length: times }, (_, i) => Math.round(ctx.feedMs * (from + slice * (i + ctx.random()))));
}

async function atElapsed(ctx: ScenarioContext, ms: number): Promise<void> {
  const wait = ms - ctx.pipeline.elapsed();
  if (wait > 0) await sleep(wait);
}

function killRepeatedly(apps: AppName[], times: number): Scenario['during'] {
  return async (ctx) => {
    for (const at of moments(ctx, times)) {
      await atElapsed(ctx, at);
      const app = apps[Math.floor(ctx.random() * apps.length)] as AppName;
      if (app === 'ingester') {
        // Mid-page: armed now, the kill lands a few ms after the next answer that carries posts.
        const delay = 3 + Math.floor(ctx.random() * 25);
        await new Promise<void>((resolve) => {
          ctx.onRequest = (entry) => {
            if (entry.posts === 0 || entry.status !== 200) return;
            ctx.onRequest = undefined;
            setTimeout(() => {
              ctx.note(`kill -9 ingester ${delay} ms after a page of ${entry.posts} posts (${ctx.pipeline.kill('ingester') ? 'killed' : 'not running'})`);
              resolve();
            }, delay);
          };
        });
      } else {
        ctx.note(`kill -9 ${app} at ${(ctx.pipeline.elapsed() / 1000).toFixed(1)}s (${ctx.pipeline.kill(app) ? 'killed' : 'not running'})`);
      }
    }
  };
}

/** Records every consumer must refuse: not JSON, JSON of the wrong shape, a wrong event-type header, an empty value. */
function poisonMessages(n: number): { key: string; value: string | null; headers?: Record<string, string> }[] {
  const kinds = [
    { key: `poison-${n}-json`, value: '{"id": "truncated' },
    { key: `poison-${n}-shape`, value: JSON.stringify({ id: 42, hello: 'world' }) },
    { key: `poison-${n}-type`, value: JSON.stringify({ id: 'x' }), headers: { 'ms-event-type': 'NoSuchEvent', 'ms-schema-version': '1' } },
    { key: `poison-${n}-null`, value: null },
  ];
  return kinds;
}
const POISON_ROUNDS = 3;
const POISON_PER_ROUND = poisonMessages(0).length;

export function trendsRebuild(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'libs/trends/src/bin/rebuild.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`trends:rebuild exited ${code}:\n${output.slice(-3000)}`))));
  });
}

export const SCENARIOS: Scenario[] = [
  { name: 'no fault (reference)', expectPlantedAlert: true },
  { name: 'kill -9 scorer ×3', during: killRepeatedly(['scorer'], 3), expectPlantedAlert: true },
  { name: 'kill -9 aggregator ×3', during: killRepeatedly(['aggregator'], 3), expectPlantedAlert: true },
  { name: 'kill -9 ingester mid-page ×3', during: killRepeatedly(['ingester'], 3), expectPlantedAlert: true },
  { name: 'kill -9 any app ×6', during: killRepeatedly(['scorer', 'aggregator', 'ingester'], 6), expectPlantedAlert: true },
  {
    name: 'Kafka broker down 30 s',
    expectPlantedAlert: true,
    // Info lines from the aggregator: its alerts, and which were decided late (the backlog arrives out of order).
    env: { aggregator: { LOG_LEVEL: 'info' } },
    async during(ctx) {
      const [at = 0] = moments(ctx, 1, 0.2, 0.4);
      await atElapsed(ctx, at);
      ctx.note(`stopping the Kafka broker at ${(ctx.pipeline.elapsed() / 1000).toFixed(1)}s`);
      await ctx.services.stop('kafka');
      await sleep(30_000);
      const started = Date.now();
      await ctx.services.up();
      ctx.note(`broker answers again ${((Date.now() - started) / 1000).toFixed(1)}s after its restart began`);
    },
  },
  {
    name: 'Redis stopped and restarted',
    expectPlantedAlert: true,
    async during(ctx) {
      const [at = 0] = moments(ctx, 1, 0.3, 0.6);
      await atElapsed(ctx, at);
      ctx.note(`stopping Redis at ${(ctx.pipeline.elapsed() / 1000).toFixed(1)}s`);
      await ctx.services.stop('redis');
      await sleep(10_000);
      await ctx.services.up();
      ctx.note('Redis restarted (append-only file on)');
    },
  },
  {
    name: 'Redis flushed, then trends:rebuild',
    expectPlantedAlert: true,
    // Info lines from the aggregator: it says when it takes over the alert state the rebuild re-decided.
    env: { aggregator: { LOG_LEVEL: 'info' } },
    async during(ctx) {
      const [at = 0] = moments(ctx, 1, 0.6, 0.8);
      await atElapsed(ctx, at);
      await ctx.redis.flushall();
      ctx.note(`FLUSHALL at ${(ctx.pipeline.elapsed() / 1000).toFixed(1)}s`);
    },
    async after(ctx) {
      const output = await trendsRebuild({
        KAFKA_BROKERS: ctx.services.kafkaBrokers,
        REDIS_URL: ctx.services.redisUrl,
        MOODSTREAM_TOPIC_PREFIX: `${ctx.id}.`,
        TRENDS_REDIS_PREFIX: `${ctx.id}:trends`,
        LOG_LEVEL: 'warn',
      });
      const summary = output.trim().split('\n').at(-1) ?? '';
      ctx.note(`trends:rebuild: ${summary}`);
      // The running aggregator sees the new epoch (its watch checks every 5 s) and takes the re-decided state over.
      const took = async (): Promise<boolean> => (await readFile(ctx.logFile, 'utf8').catch(() => '')).includes('took over the alert state the rebuild re-decided');
      const until = Date.now() + 30_000;
      while (!(await took()) && Date.now() < until) await sleep(1_000);
      if (await took()) ctx.note('the aggregator took over the re-decided alert state');
      else ctx.fail('the aggregator did not take over the re-decided alert state within 30 s of the rebuild');
    },
  },
  {
    name: 'poison records on every topic',
    expectPlantedAlert: true,
    deadLetters: POISON_ROUNDS * POISON_PER_ROUND * 2,
    async during(ctx) {
      const producer = await ctx.bus.producer();
      try {
        for (const [round, at] of moments(ctx, POISON_ROUNDS).entries()) {
          await atElapsed(ctx, at);
          for (const topic of [TOPICS.posts, TOPICS.scored, TOPICS.alerts]) await producer.sendRaw(topic, poisonMessages(round));
          ctx.note(`${POISON_PER_ROUND} poison records on each of posts, scored, alerts at ${(ctx.pipeline.elapsed() / 1000).toFixed(1)}s`);
        }
      } finally {
        await producer.close();
      }
    },
  },
  {
    // One post in fifty has an image: half on a host answering after 10 s (the stand-in's ?delayMs), half on a port
    // nothing listens on. SCORER_IMAGE_TIMEOUT_MS (5 s) bounds each fetch; the posts fall back to text-only.
    name: 'slow (10 s) and dead image hosts',
    expectPlantedAlert: true,
    stream: {
      imageShare: 0.02,
      imageUrl: (id) => (BigInt(id) % 2n === 0n ? `{{base}}/images/p${id.slice(-8)}.jpg?delayMs=10000` : `http://127.0.0.1:9/images/p${id.slice(-8)}.jpg`),
    },
    imageErrorsWithin: 5_000 + 2_000,
  },
  twoDashboards,
];
