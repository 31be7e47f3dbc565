/**
 * The reliability suite stops, restarts and flushes its Kafka and Redis, so it must own them. A server already on
 * one of its ports (say, left over by an aborted earlier run) was silently reused: the "Redis stopped and
 * restarted" scenario then found no pid of its own and measured nothing. Here a Redis server the suite did not
 * start holds the suite's Redis port: start-up must refuse with a line that says what to do, stop the Kafka broker
 * it had started on the way, and leave the other server alone.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isProcessAlive, sleep } from '@moodstream/core';
import { startPrivateServices } from './private-services';

const dir = mkdtempSync(join(tmpdir(), 'moodstream-private-services-'));
let foreign: ChildProcess | null = null;

after(() => {
  foreign?.kill('SIGKILL');
  // Whatever the outcome, no broker of this test outlives it.
  const kafkaPidFile = join(dir, 'kafka.pid');
  const kafkaPid = existsSync(kafkaPidFile) ? Number.parseInt(readFileSync(kafkaPidFile, 'utf8'), 10) : null;
  if (kafkaPid !== null && isProcessAlive(kafkaPid)) process.kill(kafkaPid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const client = connect(port, '127.0.0.1');
    client.setTimeout(2_000, () => {
      client.destroy();
      resolve(false);
    });
    client.once('connect', () => client.write('PING\r\n'));
    client.once('data', (chunk) => {
      client.destroy();
      resolve(chunk.toString('utf8').startsWith('+PONG'));
    });
    client.once('error', () => resolve(false));
  });
}

test('the suite refuses a Redis it did not start on its port, stops the broker it started, and leaves that server alone', { timeout: 180_000 }, async () => {
  const redisPort = await freePort();
  let kafkaPort = await freePort();
  // The broker needs its port and the next one (the KRaft controller).
  while (kafkaPort === redisPort || kafkaPort + 1 === redisPort) kafkaPort = await freePort();
  foreign = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(redisPort))) {
    assert.ok(Date.now() < deadline, 'the foreign redis-server answered');
    await sleep(100);
  }

  const lines: string[] = [];
  await assert.rejects(
    startPrivateServices({ dir, kafkaPort, redisPort, log: (line) => lines.push(line) }),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${redisPort}`), error.message);
      assert.match(error.message, /not started by this suite/, error.message);
      assert.match(error.message, /RELIABILITY_REDIS_PORT/, error.message);
      return true;
    },
  );
  const kafkaPidFile = join(dir, 'kafka.pid');
  const kafkaPid = existsSync(kafkaPidFile) ? Number.parseInt(readFileSync(kafkaPidFile, 'utf8'), 10) : null;
  assert.ok(kafkaPid === null || !isProcessAlive(kafkaPid), `the broker the suite started is stopped (pid ${kafkaPid})`);
  assert.ok(await redisAnswers(redisPort), 'the server the suite did not start still runs');
});
