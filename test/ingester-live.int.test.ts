import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createKafkaBus } from '@moodstream/bus';
import { TOPICS } from '@moodstream/events';
import { buildPost, generateTaggedPosts, startTumblrStandIn, type RequestLogEntry } from '@moodstream/tumblr';

/**
 * Live mode against real Kafka and Redis: the ingester is killed (-9) in the middle of its first walk
 * back through three tags' history, restarted, then new posts appear. Kafka must end up with every
 * post once; the restart must continue the interrupted walks (not start them over from the top).
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const TAGS = ['happy', 'sad', 'angry'];

function spawnLive(env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<number | null>; metricsPort: Promise<number> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/ingester/src/main.ts', 'live'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let resolvePort: (port: number) => void = () => undefined;
  const metricsPort = new Promise<number>((resolve) => (resolvePort = resolve));
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    const match = /"port":(\d+),"msg":"ingester ops server listening/.exec(output);
    if (match) resolvePort(Number(match[1]));
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited, metricsPort };
}

async function producedTotal(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^moodstream_ingester_posts_produced_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('live: kill -9 mid-walk, restart continues the walks, new posts are picked up, every post once on Kafka', { timeout: 240_000 }, async () => {
  const run = randomBytes(4).toString('hex');
  const prefix = `it-ingest-live-${run}-`;
  const redisPrefix = `it-ingest-live-${run}`;
  const now = Math.floor(Date.now() / 1000);
  const fixtures = generateTaggedPosts({ tags: TAGS, perTag: 200, overlap: 0.3, seed: 5, newestTimestamp: now - 120, spacingSeconds: 3 });
  let victim: ChildProcess | null = null;
  let killedAt: RequestLogEntry | null = null;
  const standIn = await startTumblrStandIn({
    posts: fixtures.posts,
    behaviours: { latencyMs: 15 },
    onRequest: (entry) => {
      if (victim !== null && entry.status === 200 && standIn.requestLog.filter((r) => r.status === 200).length >= 14) {
        killedAt = entry;
        const target = victim;
        victim = null;
        setTimeout(() => target.kill('SIGKILL'), 3 + Math.floor(Math.random() * 25));
      }
    },
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TUMBLR_API_URL: standIn.url,
    TUMBLR_API_KEY: 'standin-key',
    INGEST_TOPICS: '',
    KAFKA_BROKERS: BROKERS,
    MOODSTREAM_TOPIC_PREFIX: prefix,
    INGEST_STORE: 'redis',
    REDIS_URL,
    INGEST_REDIS_PREFIX: redisPrefix,
    INGEST_BUDGET_PER_MINUTE: '3000',
    INGEST_BUDGET_PER_HOUR: '100000',
    INGEST_BUDGET_PER_DAY: '100000',
    INGEST_POLL_INTERVAL_MS: '500',
    INGEST_LIVE_LOOKBACK_MS: String(24 * 3_600_000),
    METRICS_PORT: '0',
  };
  const bus = createKafkaBus({ brokers: BROKERS.split(','), clientId: `it-ingest-live-${run}`, topicPrefix: prefix });
  const redis = new Redis(REDIS_URL);
  let second: ReturnType<typeof spawnLive> | null = null;
  try {
    const first = spawnLive(env);
    victim = first.child;
    assert.equal(await first.exited, null, `killed by SIGKILL: ${first.output().slice(-1500)}`);
    assert.ok(killedAt !== null);
    const restartAt = standIn.requestLog.length;

    second = spawnLive(env);
    const port = await second.metricsPort;
    // The restarted process produces only what the killed one had not (its own counter starts at 0).
    const before = new Set<string>();
    for await (const batch of bus.readByTime({ topic: TOPICS.posts, eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })) for (const r of batch) before.add(r.value.id);
    await waitFor(async () => before.size + (await producedTotal(port)) >= fixtures.ids.length, 60_000, 'the history');
    const fresh = [
      buildPost({ id: 950000000000000001n, timestamp: Math.floor(Date.now() / 1000), watched: ['happy'], format: 'npf' }),
      buildPost({ id: 950000000000000002n, timestamp: Math.floor(Date.now() / 1000), watched: ['sad', 'angry'], format: 'legacy-photo' }),
    ];
    standIn.addPosts(fresh);
    await waitFor(async () => before.size + (await producedTotal(port)) >= fixtures.ids.length + 2, 30_000, 'the new posts');
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, 'a graceful stop exits 0');

    const counts = new Map<string, number>();
    for await (const batch of bus.readByTime({ topic: TOPICS.posts, eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })) {
      for (const r of batch) counts.set(r.value.id, (counts.get(r.value.id) ?? 0) + 1);
    }
    assert.deepEqual([...counts].filter(([, n]) => n > 1), [], 'no post twice');
    assert.equal(counts.size, fixtures.ids.length + 2, 'every post, old and new');

    // The interrupted walks continued where they were: after the restart no tag asked again for a
    // page it had already read before the kill, except the one page in flight.
    const log = standIn.requestLog;
    const seenPages = new Set(log.slice(0, restartAt).filter((r) => r.status === 200 && r.before !== null).map((r) => `${r.tag}@${r.before}`));
    const repeated = log.slice(restartAt).filter((r) => r.before !== null && seenPages.has(`${r.tag}@${r.before}`));
    assert.ok(repeated.length <= 1, `pages read again after the restart: ${JSON.stringify(repeated)}`);
    process.stdout.write(`# live: posts=${counts.size} calls=${log.length} killedAfterCall=${(killedAt as RequestLogEntry | null)?.n} pagesReadAgain=${repeated.length}\n`);
  } finally {
    (victim as ChildProcess | null)?.kill('SIGKILL');
    second?.child.kill('SIGKILL');
    await standIn.close();
    await bus.deleteTopics([TOPICS.posts]).catch(() => undefined);
    await bus.close();
    const keys = await redis.keys(`${redisPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
});
