import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createKafkaBus } from '@moodstream/bus';
import { splitList } from '@moodstream/core';
import { TOPICS } from '@moodstream/events';
import { spawnLauncher, type LauncherProcess } from '../scripts/start/launcher-process';

/**
 * `npm start` in the distributed mode against the real Kafka broker and Redis `npm test` provides:
 * one process per app, the demo through the ingester, the first chart point served from Redis,
 * and a clean stop of every child on Ctrl-C. Private topic/key prefixes; removed afterwards.
 */
const brokers = process.env['KAFKA_BROKERS'];
const redisUrl = process.env['REDIS_URL'];
if (brokers === undefined || redisUrl === undefined) throw new Error('KAFKA_BROKERS and REDIS_URL must be set (npm test sets them)');
const id = `starttest-${randomBytes(4).toString('hex')}`;
const env = {
  KAFKA_BROKERS: brokers,
  REDIS_URL: redisUrl,
  PORT: '0',
  MOODSTREAM_TOPIC_PREFIX: `${id}.`,
  TRENDS_REDIS_PREFIX: `${id}:trends`,
  INGEST_REDIS_PREFIX: `${id}:ingester`,
  DASHBOARD_SOCKET_CHANNEL: id,
  TRENDS_GROUP_ID: 'moodstream-trends',
  SCORER_METRICS_PORT: '0',
  LOG_LEVEL: 'warn',
};
let run: LauncherProcess | null = null;

after(async () => {
  if (run !== null && run.child.exitCode === null) run.child.kill('SIGKILL');
  const bus = createKafkaBus({ brokers: splitList(brokers), clientId: id, topicPrefix: `${id}.` });
  await bus.deleteTopics(Object.values(TOPICS)).catch(() => undefined);
  await bus.close();
  const redis = new Redis(redisUrl);
  const keys: string[] = [];
  // Trends keys are hash-tagged (`{<prefix>:…}`, libs/trends/src/redis-store.ts), the rest start with the prefix.
  for (const pattern of [`${id}:*`, `{${id}:*`, `{${id}}*`]) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
  }
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  await redis.quit();
});

describe('npm start, distributed mode (real Kafka + Redis)', () => {
  it('runs each app as its own process, serves the first chart point and stops every process on Ctrl-C', { timeout: 5 * 60_000 }, async () => {
    // PORT=0 cannot be forwarded to a child and read back, so the dashboard gets a fixed free port.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
      });
    });
    run = spawnLauncher({ env: { ...env, PORT: String(port) } });
    const [, url = ''] = await run.waitFor(/dashboard live at (http:\/\/\S+)/, 180_000);
    assert.match(run.output(), /separate processes against Kafka/);
    await run.waitFor(/replaying \d+ posts through the ingester/, 30_000);
    const deadline = Date.now() + 90_000;
    let points = 0;
    while (points === 0 && Date.now() < deadline) {
      const body = (await (await fetch(new URL('/api/series?topic=all&window=1m', url))).json()) as { points: { count: number }[] };
      points = body.points.filter((p) => p.count > 0).length;
      if (points === 0) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(points > 0, 'a chart point arrived through ingester → Kafka → scorer → Kafka → aggregator → Redis');
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0, run.output().slice(-3000));
    assert.match(run.output(), /stopping every process/);
    await assert.rejects(fetch(new URL('/healthz', url)), 'the dashboard process is gone');
  });
});
