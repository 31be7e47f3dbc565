/**
 * A local three-node Redis Cluster for the integration tests that check the trends store on a cluster
 * (test/trends-cluster.int.test.ts): Debian's redis-server in cluster mode on loopback ports (7101–7103 unless
 * MOODSTREAM_REDIS_CLUSTER_PORT moves the first), no replicas, joined with `redis-cli --cluster create`. Like
 * scripts/services.ts it runs detached and outlives the script (idempotent: a running healthy cluster is reused).
 *
 *   node --import tsx scripts/redis-cluster.ts up|down|status
 *
 * REDIS_CLUSTER_URL, when set (comma-separated seed nodes, `redis://127.0.0.1:7101,redis://127.0.0.1:7102`), points at
 * a cluster someone else runs: nothing is started, it is only checked. `npm test` starts one when integration tests
 * run and REDIS_CLUSTER_URL is not given, and passes its address to the tests in REDIS_CLUSTER_URL.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { retry, withProcessLock } from '@moodstream/core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const STATE = resolve(process.env['MOODSTREAM_SERVICES_DIR'] || join(ROOT, '.cache', 'services'), 'redis-cluster');
const FIRST_PORT = Number(process.env['MOODSTREAM_REDIS_CLUSTER_PORT'] || 7101);
const NODES = 3;
const PORTS = Array.from({ length: NODES }, (_, i) => FIRST_PORT + i);
const START_TIMEOUT_MS = 30_000;

type Say = (line: string) => void;

/** The seed-node list the tests read from REDIS_CLUSTER_URL. */
export const DEFAULT_REDIS_CLUSTER_URL = PORTS.map((port) => `redis://127.0.0.1:${port}`).join(',');

/** `redis://host:port,redis://host:port` → ioredis Cluster start nodes. */
export function clusterNodes(url: string): { host: string; port: number }[] {
  return url
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part) => {
      const parsed = new URL(part.includes('://') ? part : `redis://${part}`);
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
}

function tail(file: string, lines = 15): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n') : '(no log)';
}

/** CLUSTER INFO of one node, or null when it does not answer. */
async function clusterInfo(host: string, port: number): Promise<Record<string, string> | null> {
  const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const text = (await client.call('CLUSTER', 'INFO')) as string;
    return Object.fromEntries(text.split(/\r?\n/).filter((l) => l.includes(':')).map((l) => l.split(':', 2) as [string, string]));
  } catch {
    return null;
  } finally {
    client.disconnect();
  }
}

/** Why the cluster at `url` is not usable, or null when every node says cluster_state:ok with all slots served. */
async function unhealthy(url: string): Promise<string | null> {
  for (const { host, port } of clusterNodes(url)) {
    const info = await clusterInfo(host, port);
    if (info === null) return `${host}:${port} does not answer`;
    if (info['cluster_state'] !== 'ok') return `${host}:${port} says cluster_state:${info['cluster_state'] ?? '?'}`;
    if (info['cluster_slots_assigned'] !== '16384') return `${host}:${port} has ${info['cluster_slots_assigned'] ?? '?'} of 16384 slots assigned`;
  }
  return null;
}

function findBinary(name: string): string {
  for (const candidate of [`/usr/bin/${name}`, `/usr/local/bin/${name}`, `/usr/sbin/${name}`]) if (existsSync(candidate)) return candidate;
  throw new Error(`${name} not found: install Debian's redis-server package (npm run services:up does), or set REDIS_CLUSTER_URL`);
}

async function start(say: Say): Promise<string> {
  const server = findBinary('redis-server');
  const cli = findBinary('redis-cli');
  const began = Date.now();
  for (const port of PORTS) {
    if ((await clusterInfo('127.0.0.1', port)) !== null) continue;
    const dir = join(STATE, String(port));
    mkdirSync(dir, { recursive: true });
    // No persistence: test data only, and a restarted node rejoins from its nodes.conf.
    const result = spawnSync(
      server,
      ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000',
        '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', join(dir, 'redis.pid'), '--logfile', join(dir, 'redis.log'), '--dir', dir],
      { encoding: 'utf8' },
    );
    if (result.status !== 0) throw new Error(`redis-server on port ${port} failed to start (exit ${result.status}): ${`${result.stdout}${result.stderr}`.trim()}\n${tail(join(dir, 'redis.log'))}`);
  }
  await retry(
    async () => {
      for (const port of PORTS) if ((await clusterInfo('127.0.0.1', port)) === null) throw new Error(`port ${port} does not answer yet`);
    },
    { retries: 50, initialDelayMs: 100, maxDelayMs: 500, shouldRetry: () => true },
  );
  const first = await clusterInfo('127.0.0.1', FIRST_PORT);
  if (first?.['cluster_slots_assigned'] === '0' && first['cluster_known_nodes'] === '1') {
    const create = spawnSync(cli, ['--cluster', 'create', ...PORTS.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8', timeout: START_TIMEOUT_MS });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (exit ${create.status}): ${`${create.stdout}${create.stderr}`.trim()}`);
  }
  await retry(
    async () => {
      const why = await unhealthy(DEFAULT_REDIS_CLUSTER_URL);
      if (why !== null) throw new Error(why);
    },
    { retries: 60, initialDelayMs: 200, maxDelayMs: 500, shouldRetry: () => true },
  ).catch((error: unknown) => {
    throw new Error(`the Redis Cluster on ${PORTS.join(', ')} did not become healthy: ${(error as Error).message}\n${tail(join(STATE, String(FIRST_PORT), 'redis.log'))}`);
  });
  say(`Redis Cluster (${NODES} masters) answers on ${DEFAULT_REDIS_CLUSTER_URL} after ${((Date.now() - began) / 1000).toFixed(1)}s`);
  return DEFAULT_REDIS_CLUSTER_URL;
}

/** Starts the local cluster unless REDIS_CLUSTER_URL names one (then only checks it); returns the seed-node list. */
export async function redisClusterUp(say: Say = (line) => console.log(line)): Promise<string> {
  const given = process.env['REDIS_CLUSTER_URL']?.trim();
  if (given) {
    const why = await unhealthy(given);
    if (why !== null) throw new Error(`REDIS_CLUSTER_URL=${given} is not a healthy cluster: ${why}`);
    return given;
  }
  if ((await unhealthy(DEFAULT_REDIS_CLUSTER_URL)) === null) return DEFAULT_REDIS_CLUSTER_URL;
  mkdirSync(STATE, { recursive: true });
  return withProcessLock(join(STATE, 'cluster.lock'), () => start(say), { onWait: (pid) => say(`waiting for pid ${pid}, which is starting the Redis Cluster`) });
}

/** Stops the local cluster's nodes (never one REDIS_CLUSTER_URL names). */
export async function redisClusterDown(say: Say = (line) => console.log(line)): Promise<void> {
  const cli = findBinary('redis-cli');
  for (const port of PORTS) {
    if ((await clusterInfo('127.0.0.1', port)) === null) continue;
    spawnSync(cli, ['-p', String(port), 'shutdown', 'nosave'], { encoding: 'utf8' });
    say(`stopped the cluster node on port ${port}`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const command = process.argv[2] ?? 'status';
  const run = async (): Promise<number> => {
    if (command === 'up') {
      console.log(`REDIS_CLUSTER_URL=${await redisClusterUp()}`);
      return 0;
    }
    if (command === 'down') {
      await redisClusterDown();
      return 0;
    }
    if (command === 'status') {
      const url = process.env['REDIS_CLUSTER_URL']?.trim() || DEFAULT_REDIS_CLUSTER_URL;
      const why = await unhealthy(url);
      console.log(why === null ? `Redis Cluster healthy on ${url}` : `Redis Cluster not usable: ${why}`);
      return why === null ? 0 : 1;
    }
    console.error('usage: node --import tsx scripts/redis-cluster.ts up|down|status');
    return 2;
  };
  run().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
