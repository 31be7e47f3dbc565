import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createKafkaBus, type Consumer, type KafkaBus, type Producer } from '@moodstream/bus';
import { EMOTIONS, SeriesResponseSchema, TOPICS, WatchedTopicsResponseSchema, type ScoredPostInput } from '@moodstream/events';
import { STANDIN_DEFAULT_KEY, generateTaggedPosts, startTumblrStandIn, type TumblrStandIn } from '@moodstream/tumblr';

/**
 * The distributed mode with tags added at run time: two dashboard processes and a live ingester process share one
 * Redis (the watched-topic registry) and one Kafka. A tag added through the first dashboard is polled by the ingester
 * (from the local Tumblr stand-in) and its chart is served by the second dashboard. The scorer's place is taken by
 * a relay in this test that scores every post the same (the model is not what is under test here).
 */
const KAFKA_BROKERS = process.env['KAFKA_BROKERS'];
const REDIS_URL = process.env['REDIS_URL'];
if (KAFKA_BROKERS === undefined || REDIS_URL === undefined) throw new Error('KAFKA_BROKERS and REDIS_URL are not set: run this through `npm test`, which starts Kafka and Redis');
const ROOT = resolve(import.meta.dirname, '..');
const DASHBOARD_MAIN = resolve(ROOT, 'apps/dashboard/src/main.ts');
const INGESTER_MAIN = resolve(ROOT, 'apps/ingester/src/main.ts');

interface Child {
  process: ChildProcess;
  output: () => string;
}

function start(main: string, args: string[], env: Record<string, string>): Child {
  let output = '';
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return { process: child, output: () => output };
}

async function until<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number, children: Child[]): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    for (const c of children) if (c.process.exitCode !== null) assert.fail(`a process exited (${c.process.exitCode}) while waiting for ${what}:\n${c.output().slice(-3000)}`);
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}:\n${children.map((c) => c.output().slice(-1500)).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('watched topics in the distributed mode (real Kafka and Redis, separate processes)', { timeout: 6 * 60_000 }, () => {
  const suffix = randomBytes(4).toString('hex');
  const topicPrefix = `topics-dist-${suffix}-`;
  const redisPrefix = `topics-dist:${suffix}`;
  const tag = `dist final ${suffix}`;
  const children: Child[] = [];
  let standIn: TumblrStandIn;
  let bus: KafkaBus;
  let relay: Consumer | null = null;
  let producer: Producer | null = null;
  let redis: Redis;
  const shared = { KAFKA_BROKERS, REDIS_URL, MOODSTREAM_TOPIC_PREFIX: topicPrefix, LOG_LEVEL: 'info' };

  const dashboardUrl = (child: Child) => until('a dashboard to listen', () => Promise.resolve(/dashboard live at (http:\/\/\S+?)"/.exec(child.output())?.[1] ?? null), 240_000, children);

  before(async () => {
    redis = new Redis(REDIS_URL);
    const { posts } = generateTaggedPosts({ tags: [...EMOTIONS, tag], perTag: 20, newestTimestamp: Math.floor(Date.now() / 1000), spacingSeconds: 10, formats: ['legacy-text'] });
    standIn = await startTumblrStandIn({ posts });
    bus = createKafkaBus({ brokers: KAFKA_BROKERS.split(','), clientId: 'topics-dist-test', topicPrefix });
    await bus.ensureTopics([{ name: TOPICS.posts }, { name: TOPICS.scored }]);
    producer = await bus.producer();
    const out = producer;
    // The scorer's stand-in: every Post becomes a ScoredPost with the same probabilities.
    relay = bus.consumer({
      groupId: `topics-dist-relay-${suffix}`,
      topics: [TOPICS.posts],
      eventType: 'Post',
      deadLetterTopic: `${TOPICS.posts}.dead-letter`,
      fromBeginning: true,
      handler: async (records) => {
        const scored: ScoredPostInput[] = records.map(({ value: p }) => ({
          postId: p.id,
          topics: p.topics,
          timestamp: p.timestamp,
          probabilities: [0.5, 0.1, 0.1, 0.1, 0.1, 0.1],
          topEmotion: 'happy',
          modality: 'text',
          explicit: null,
          modelVersion: 'relay',
          latencies: {},
          scoredAt: Date.now(),
          text: p.text,
          imageUrl: null,
          url: p.url,
        }));
        await out.send(TOPICS.scored, 'ScoredPost', scored.map((s) => ({ key: s.postId, value: s, timestamp: s.timestamp })));
      },
    });
    await relay.start();
    const dashboardEnv = { ...shared, TRENDS_REDIS_PREFIX: redisPrefix, TRENDS_GROUP_ID: `topics-dist-${suffix}`, DASHBOARD_SOCKET_CHANNEL: `topics-dist-${suffix}`, PORT: '0' };
    children.push(start(DASHBOARD_MAIN, [], { ...dashboardEnv, DASHBOARD_AGGREGATE: '1' }));
    children.push(start(DASHBOARD_MAIN, [], { ...dashboardEnv, DASHBOARD_AGGREGATE: '0' }));
    children.push(
      start(INGESTER_MAIN, ['live'], {
        ...shared,
        TUMBLR_API_KEY: STANDIN_DEFAULT_KEY,
        TUMBLR_API_URL: standIn.url,
        INGEST_STORE: 'memory',
        INGEST_TOPIC_REGISTRY: 'redis',
        INGEST_TOPIC_REGISTRY_PREFIX: redisPrefix,
        INGEST_POLL_INTERVAL_MS: '2000',
        INGEST_BUDGET_PER_HOUR: '20000',
        INGEST_BUDGET_PER_DAY: '400000',
        METRICS_PORT: '0',
      }),
    );
  });

  after(async () => {
    for (const c of children) if (c.process.exitCode === null) c.process.kill('SIGKILL');
    await relay?.stop();
    await producer?.close();
    await bus.deleteTopics(Object.values(TOPICS)).catch(() => undefined);
    await bus.close();
    await standIn?.close();
    const keys = await redis.keys(`*${redisPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('a tag added on one dashboard is polled by the ingester process and charted by the other dashboard', async () => {
    const [first, second] = [await dashboardUrl(children[0] as Child), await dashboardUrl(children[1] as Child)];
    // The ingester has reported its budget through Redis: the first dashboard shows it.
    await until('the ingester to report its budget', async () => {
      const body = WatchedTopicsResponseSchema.parse(await (await fetch(`${first}/api/topics/watched`)).json());
      return body.budget?.report?.configured.includes('happy') === true ? body : null;
    }, 60_000, children);
    const added = await fetch(`${first}/api/topics/watched`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tag: `#${tag.toUpperCase()}` }) });
    assert.equal(added.status, 201, await added.text());
    const addedAt = Date.now();
    // The second dashboard lists it at once (the registry is in Redis) ...
    const listed = WatchedTopicsResponseSchema.parse(await (await fetch(`${second}/api/topics/watched`)).json());
    assert.deepEqual(listed.topics.map((t) => t.tag), [tag]);
    // ... the ingester polls it within a poll interval ...
    await until('the stand-in to be asked for the tag', () => Promise.resolve(standIn.requestLog.some((r) => r.tag === tag && r.status === 200) ? true : null), 30_000, children);
    const pollMs = (standIn.requestLog.find((r) => r.tag === tag)?.at ?? Infinity) - addedAt;
    // ... and the second dashboard (which does not aggregate) serves its chart.
    const total = await until('the second dashboard to chart the tag', async () => {
      const series = SeriesResponseSchema.parse(await (await fetch(`${second}/api/series?topic=${encodeURIComponent(tag)}&window=1h`)).json());
      const count = series.points.reduce((n, p) => n + p.count, 0);
      return count > 0 ? count : null;
    }, 90_000, children);
    process.stderr.write(`topics-distributed: #${tag} polled ${pollMs} ms after it was added; ${total} posts charted by the second dashboard\n`);
    assert.ok(pollMs <= 2_000 + 3_000, `polled within one poll interval (took ${pollMs} ms)`);
    // Removed through the second dashboard: the ingester stops asking for it.
    assert.equal((await fetch(`${second}/api/topics/watched/${encodeURIComponent(tag)}`, { method: 'DELETE' })).status, 200);
    await new Promise((r) => setTimeout(r, 3_000));
    const after = standIn.requestLog.length;
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal(standIn.requestLog.slice(after).filter((r) => r.tag === tag).length, 0, 'a removed tag is no longer polled');
  });
});
