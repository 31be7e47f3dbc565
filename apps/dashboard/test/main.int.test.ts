import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { io as connect, type Socket } from 'socket.io-client';
import { createKafkaBus, type KafkaBus } from '@moodstream/bus';
import { TOPICS } from '@moodstream/events';
import type { ClientToServerEvents, SeriesResponse, SeriesUpdate, ServerToClientEvents } from '@moodstream/trends';
import { CALM, minuteOfPosts, seededRandom } from './support/scored-posts';

/**
 * The standalone dashboard (distributed mode) as its own process against the real Kafka and Redis: it aggregates
 * ScoredPosts from Kafka, answers the API, pushes live buckets, and shuts down cleanly on SIGTERM.
 */

const KAFKA_BROKERS = process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092';
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
const MIN = 60_000;

describe('dashboard main (distributed mode) on real Kafka and Redis', { timeout: 240_000 }, () => {
  const suffix = randomBytes(4).toString('hex');
  const topicPrefix = `dash-int-${suffix}-`;
  const redisPrefix = `dash-int:${suffix}`;
  const groupId = `dash-int-${suffix}`;
  let child: ChildProcess;
  let output = '';
  let base: string;
  let bus: KafkaBus;
  let redis: Redis;

  before(async () => {
    bus = createKafkaBus({ brokers: KAFKA_BROKERS.split(','), clientId: 'dashboard-int-test', topicPrefix });
    redis = new Redis(REDIS_URL);
    child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      env: {
        ...process.env,
        KAFKA_BROKERS,
        REDIS_URL,
        MOODSTREAM_TOPIC_PREFIX: topicPrefix,
        TRENDS_REDIS_PREFIX: redisPrefix,
        TRENDS_GROUP_ID: groupId,
        DASHBOARD_SOCKET_CHANNEL: `dash-int-${suffix}`,
        TRENDS_SERIES_PUSH_MS: '100',
        PORT: '0',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const end = Date.now() + 180_000;
    for (;;) {
      const match = /dashboard live at (http:\/\/\S+?)"/.exec(output);
      if (match?.[1] !== undefined) {
        base = match[1];
        break;
      }
      if (child.exitCode !== null) assert.fail(`main exited early (${child.exitCode}):\n${output}`);
      if (Date.now() > end) assert.fail(`main did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await bus.deleteTopics(Object.values(TOPICS)).catch(() => undefined);
    await bus.deleteGroups([groupId]).catch(() => undefined);
    await bus.close();
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('aggregates posts from Kafka, serves them and pushes live buckets', async () => {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);

    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(base, { transports: ['websocket'], forceNew: true, reconnection: false });
    const pushed: SeriesUpdate[] = [];
    socket.on('series', (u) => pushed.push(u));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    socket.emit('watch', { topic: 'harbour', window: '1m' });
    await new Promise((r) => setTimeout(r, 200));

    const minute = Math.floor(Date.now() / MIN) * MIN - 2 * MIN;
    const posts = minuteOfPosts('harbour', minute, 25, CALM, seededRandom(3));
    const producer = await bus.producer();
    await producer.send(TOPICS.scored, 'ScoredPost', posts.map((value) => ({ key: value.postId, value, timestamp: value.timestamp })));
    await producer.close();

    const end = Date.now() + 30_000;
    let series: SeriesResponse | null = null;
    while (Date.now() < end) {
      series = (await (await fetch(`${base}/api/series?topic=harbour&window=1m&from=${minute}&to=${minute + MIN}`)).json()) as SeriesResponse;
      if (series.points[0]?.count === 25) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(series?.points[0]?.count, 25, 'the 25 posts were aggregated into Redis');
    const endPush = Date.now() + 5_000;
    while (!pushed.some((u) => u.point.start === minute && u.point.count === 25) && Date.now() < endPush) await new Promise((r) => setTimeout(r, 50));
    assert.ok(pushed.some((u) => u.topic === 'harbour' && u.point.count === 25), 'the bucket was pushed to the watching browser');
    assert.ok((await redis.keys(`${redisPrefix}*`)).length > 0, 'aggregates live in Redis under the configured prefix');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /^moodstream_trends_events_total\{outcome="added",service="dashboard"\} 50$/m, 'each post counted once under its topic and under "all"');
    assert.match(metrics, /^moodstream_dashboard_socket_connections\{service="dashboard"\} 1$/m, "the dashboard's own metrics in the same registry");
    const report = (await (await fetch(`${base}/healthz`)).json()) as { ok: boolean; service: string; parts: Record<string, { ok: boolean }> };
    assert.equal(report.service, 'dashboard');
    // store-epoch: the watch that notices a flushed or lost Redis (then trends:rebuild is needed).
    assert.deepEqual(Object.keys(report.parts), ['redis', 'bus', 'store-epoch', 'trends', 'dashboard'], 'every part of the process reports on the web port');
    assert.ok(Object.values(report.parts).every((part) => part.ok));
    socket.close();
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, output.slice(-2_000));
    assert.match(output, /"msg":"dashboard: closed"/);
  });
});
