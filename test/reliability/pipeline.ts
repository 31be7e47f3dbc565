import { appendFileSync } from 'node:fs';
import { startTumblrStandIn, type RequestLogEntry, type TumblrStandIn } from '@moodstream/tumblr';
import { sleep } from '@moodstream/core';
import { startChildren, type ChildSpec, type Children } from '../../scripts/start/children';
import { ROOT } from '../support/ingester-harness';
import { stamped, type SeededStream } from './stream';

/**
 * The distributed pipeline under test: the Tumblr stand-in (in this process) revealing the seeded stream as time
 * passes, and the ingester (live), the scorer and the standalone aggregator, each its own process under the same
 * supervisor `npm start` uses (scripts/start/children.ts), restarting a crashed child — which is what lets a
 * `kill -9` scenario go on.
 */
export type AppName = 'ingester' | 'scorer' | 'aggregator';

export interface PipelineOptions {
  id: string;
  stream: SeededStream;
  /** Stream start, epoch ms (a whole minute), so every post's timestamp is in the past when revealed. */
  baseMs: number;
  /** Stream time per wall-clock time. */
  speed: number;
  kafkaBrokers: string;
  redisUrl: string;
  /** Every child's output lines go here. */
  logFile: string;
  /** Extra environment per app. */
  env?: Partial<Record<AppName, Record<string, string>>>;
  onRequest?: (entry: RequestLogEntry) => void;
}

export interface Pipeline {
  standIn: TumblrStandIn;
  children: Children;
  /** Posts revealed so far. */
  revealed(): number;
  /** Resolves when the whole stream has been revealed. */
  readonly fed: Promise<void>;
  /** Wall-clock ms since the reveal began. */
  elapsed(): number;
  kill(app: AppName): boolean;
  stop(): Promise<void>;
}

/** The trends settings every scenario shares; why each differs from the default is said beside it. */
export function trendsEnv(options: { id: string }): Record<string, string> {
  return {
    TRENDS_REDIS_PREFIX: `${options.id}:trends`,
    // The suite compresses time (20×): a 30 s outage is 10 minutes of stream, which must not turn into late drops.
    TRENDS_ALLOWED_LATENESS_MS: String(60 * 60_000),
    // The stream is placed in the recent past; an idle watermark following the clock would close it all at once.
    TRENDS_IDLE_WATERMARK_LAG_MS: String(365 * 24 * 3_600_000),
    TRENDS_IDLE_PARTITION_TIMEOUT_MS: String(10 * 60_000),
    // An alert window is decided once the watermark is the settle time past its end. The default 15 s of event time
    // is 0.75 s of wall time here: less than one ingester round over the five tags, so the tag polled first moved the
    // watermark and windows were decided before the other tags' posts of that minute arrived (the detector found
    // 5–8 of 19 windows complete enough to use, and the planted alert fired in 6 runs of 10). 5 stream minutes is
    // 15 s of wall time, the default's 15 s scaled like the lateness above.
    TRENDS_ALERT_SETTLE_MS: String(5 * 60_000),
  };
}

export async function startPipeline(options: PipelineOptions): Promise<Pipeline> {
  let onRequest = options.onRequest;
  const standIn = await startTumblrStandIn({
    behaviours: { limits: { perHour: 10_000_000, perDay: 10_000_000, perMinute: 10_000_000 } },
    onRequest: (entry) => onRequest?.(entry),
  });
  const common = { KAFKA_BROKERS: options.kafkaBrokers, REDIS_URL: options.redisUrl, MOODSTREAM_TOPIC_PREFIX: `${options.id}.`, LOG_LEVEL: 'warn' };
  const specs: ChildSpec[] = [
    {
      name: 'aggregator',
      args: ['libs/trends/src/bin/aggregator.ts'],
      env: { ...common, ...trendsEnv(options), TRENDS_GROUP_ID: `${options.id}-trends`, TRENDS_METRICS_PORT: '0', ...options.env?.aggregator },
    },
    {
      name: 'scorer',
      args: ['apps/scorer/src/main.ts'],
      env: {
        ...common,
        SCORER_GROUP_ID: `${options.id}-scorer`,
        SCORER_METRICS_PORT: '0',
        SCORER_WORKERS: '1',
        // A killed scorer's partitions go to its successor after this long.
        SCORER_SESSION_TIMEOUT_MS: '6000',
        SCORER_IMAGE_ALLOWLIST: '127.0.0.1',
        ...options.env?.scorer,
      },
    },
    {
      name: 'ingester',
      args: ['apps/ingester/src/main.ts', 'live'],
      env: {
        ...common,
        TUMBLR_API_URL: standIn.url,
        TUMBLR_API_KEY: 'standin-key',
        INGEST_TOPICS: options.stream.topics.join(','),
        INGEST_STORE: 'redis',
        INGEST_REDIS_PREFIX: `${options.id}:ingester`,
        INGEST_MIN_ENGLISH_WORDS: '0',
        INGEST_POLL_INTERVAL_MS: '500',
        INGEST_LIVE_LOOKBACK_MS: String(24 * 3_600_000),
        INGEST_BUDGET_PER_MINUTE: '1000000',
        INGEST_BUDGET_PER_HOUR: '1000000',
        INGEST_BUDGET_PER_DAY: '1000000',
        INGEST_BACKOFF_INITIAL_MS: '200',
        INGEST_BACKOFF_MAX_MS: '2000',
        METRICS_PORT: '0',
        ...options.env?.ingester,
      },
    },
  ];
  const children = startChildren(specs, {
    cwd: ROOT,
    write: (line) => appendFileSync(options.logFile, `${new Date().toISOString()} ${line}\n`),
    // Faults are the point here: restart quickly and never give up within a scenario.
    restart: { maxRestarts: 1_000, windowMs: 60_000, initialDelayMs: 300, maxDelayMs: 2_000 },
  });

  const started = Date.now();
  let next = 0;
  const posts = options.stream.posts;
  const fed = (async () => {
    while (next < posts.length) {
      const streamNow = (Date.now() - started) * options.speed;
      const batch = [];
      while (next < posts.length && (posts[next]?.offsetMs ?? Infinity) <= streamNow) batch.push(stamped(posts[next++]!, options.baseMs));
      if (batch.length > 0) standIn.addPosts(batch);
      await sleep(100);
    }
  })();

  return {
    standIn,
    children,
    revealed: () => next,
    fed,
    elapsed: () => Date.now() - started,
    kill(app) {
      const child = children.process(app);
      return child !== null && child.kill('SIGKILL');
    },
    async stop() {
      onRequest = undefined;
      await children.stop(20_000);
      await standIn.close();
    },
  };
}
