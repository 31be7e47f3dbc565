import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createKafkaBus } from '@moodstream/bus';
import { splitList } from '@moodstream/core';
import { topicNames, type ScoredPost } from '@moodstream/events';
import { BASELINE_SHARES, syntheticScoredPosts } from '@moodstream/trends';
import { redisDump } from '@moodstream/trends/testing';

const brokers = splitList(process.env['KAFKA_BROKERS']);
const REDIS_URL = process.env['REDIS_URL'];
if (brokers.length === 0 || REDIS_URL === undefined) throw new Error('KAFKA_BROKERS and REDIS_URL must be set: run this through `npm test`, which starts both');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(script: string, args: string[], env: Record<string, string>): ChildProcess & { out: string[]; err: string[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => err.push(c.toString('utf8')));
  return Object.assign(child, { out, err });
}

async function exitCode(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return code;
}

describe('trends executables (real Kafka and Redis)', () => {
  const suffix = randomBytes(5).toString('hex');
  const topicPrefix = `test-trends-cli-${suffix}.`;
  const redisPrefix = `test:trends-cli:${suffix}`;
  const env = { KAFKA_BROKERS: brokers.join(','), REDIS_URL: REDIS_URL!, MOODSTREAM_TOPIC_PREFIX: topicPrefix, TRENDS_REDIS_PREFIX: redisPrefix, TRENDS_METRICS_PORT: '0', TRENDS_GROUP_ID: `g-${suffix}`, LOG_LEVEL: 'info' };
  const bus = createKafkaBus({ brokers, clientId: `trends-cli-${suffix}`, topicPrefix, maxWaitTimeMs: 250 });
  const redis = new Redis(REDIS_URL!);
  // Recent timestamps: the broker deletes records older than 24 h by their timestamps.
  const start = Math.floor((Date.now() - 2 * 3_600_000) / 3_600_000) * 3_600_000;
  const posts: ScoredPost[] = [...syntheticScoredPosts({ start, durationMs: 10 * 60_000, ratePerMinute: 100, topics: ['cats', 'dogs'], shares: () => BASELINE_SHARES, seed: 5, idPrefix: suffix })];
  const children: ChildProcess[] = [];

  before(async () => {
    const topics = topicNames();
    await bus.ensureTopics([{ name: topics.scored, partitions: 2 }, { name: topics.alerts }, { name: topics.deadLetter }]);
    const producer = await bus.producer();
    await producer.send(topics.scored, 'ScoredPost', posts.map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp })));
    await producer.sendRaw(topics.scored, [{ key: 'poison', value: '{"not":"a scored post"}', timestamp: start }]);
    await producer.close();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await bus.deleteTopics(Object.values(topicNames())).catch(() => undefined);
    await bus.close();
    const keys = Object.keys(await redisDump(redis, `{${redisPrefix}`));
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  });

  it('the standalone aggregator consumes, serves /metrics and /healthz, dead-letters poison, and shuts down cleanly', async () => {
    const child = run('libs/trends/src/bin/aggregator.ts', [], env);
    children.push(child);
    let port = 0;
    const deadline = Date.now() + 60_000;
    while (port === 0 && Date.now() < deadline && child.exitCode === null) {
      const line = child.out.join('').split('\n').find((l) => l.includes('/healthz and /metrics on port'));
      if (line !== undefined) port = (JSON.parse(line) as { port: number }).port;
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(port > 0, `no ops port; stderr: ${child.err.join('')}`);
    let metrics = '';
    while (Date.now() < deadline) {
      metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (metrics.includes(`moodstream_trends_events_total{outcome="added",service="aggregator"} ${posts.length * 2}`)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(metrics, new RegExp(`moodstream_trends_events_total\\{outcome="added",service="aggregator"\\} ${posts.length * 2}\\n`));
    assert.match(metrics, /moodstream_trends_dead_letters_total\{service="aggregator"\} 1\n/);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const report = (await health.json()) as { service: string; parts: Record<string, { state: string; ok: boolean }> };
    assert.equal(report.service, 'aggregator');
    for (const part of ['bus', 'redis', 'trends']) assert.equal(report.parts[part]?.ok, true, `${part}: ${JSON.stringify(report.parts[part])}`);
    child.kill('SIGTERM');
    assert.equal(await exitCode(child, 30_000), 0, child.err.join(''));
    assert.match(child.out.join(''), /aggregator: closed/);
  });

  it('the replay CLI replays a range at max speed and prints its final status', async () => {
    const child = run('libs/trends/src/bin/replay.ts', ['--topic', 'cats', '--from', new Date(start).toISOString(), '--to', new Date(start + 10 * 60_000).toISOString(), '--speed', 'max'], env);
    children.push(child);
    assert.equal(await exitCode(child, 120_000), 0, child.err.join(''));
    const status = JSON.parse(child.out.join('').trim().split('\n').pop() ?? '{}') as { state: string; processed: number; id: string; progress: number };
    assert.equal(status.state, 'done');
    assert.equal(status.processed, posts.filter((p) => p.topics.includes('cats')).length);
    assert.equal(status.progress, 1);
    const replayBuckets = Object.keys(await redisDump(redis, `{${redisPrefix}:replay:${status.id}:cats}:b:1h:`));
    assert.ok(replayBuckets.length > 0, 'the replay wrote its own namespace');
  });

  it('the replay CLI explains its usage and rejects bad arguments', async () => {
    const help = run('libs/trends/src/bin/replay.ts', ['--help'], env);
    assert.equal(await exitCode(help, 30_000), 0);
    assert.match(help.out.join(''), /usage: npm run replay -- --topic T --from ISO --to ISO/);
    const bad = run('libs/trends/src/bin/replay.ts', ['--topic', 'cats', '--from', 'yesterday', '--to', '2026-01-01'], env);
    assert.equal(await exitCode(bad, 30_000), 1);
    assert.match(bad.err.join(''), /--from "yesterday" is not an ISO-8601 time or epoch ms/);
  });

  it('the replay CLI takes a model-registry version to re-score with, and refuses one it does not know', async () => {
    const range = ['--topic', 'cats', '--from', new Date(start).toISOString(), '--to', new Date(start + 10 * 60_000).toISOString()];
    const noRescore = run('libs/trends/src/bin/replay.ts', [...range, '--model-version', 'default'], env);
    assert.equal(await exitCode(noRescore, 30_000), 1);
    assert.match(noRescore.err.join(''), /`modelVersion` needs `rescore: true`/);
    const registry = await mkdtemp(path.join(os.tmpdir(), 'replay-registry-'));
    const unknown = run('libs/trends/src/bin/replay.ts', [...range, '--rescore', '--model-version', 'no-such-version'], { ...env, TRENDS_MODEL_REGISTRY: registry });
    children.push(unknown);
    assert.equal(await exitCode(unknown, 120_000), 1);
    assert.match(unknown.err.join(''), /unknown model version "no-such-version"; known versions: default/);
    await rm(registry, { recursive: true, force: true });
  });
});
