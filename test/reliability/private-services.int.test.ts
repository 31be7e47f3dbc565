/**
 * The reliability suite stops, restarts and flushes its Kafka and Redis, so it must own them. A server already on
 * one of its ports (say, left over by an aborted earlier run) was silently reused: the "Redis stopped and
 * restarted" scenario then found no pid of its own and measured nothing. Here a Redis server the suite did not
 * start holds the suite's Redis port: start-up must refuse with a line that says what to do, stop the Kafka broker
 * it had started on the way, and leave the other server alone.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isProcessAlive, sleep } from '@moodstream/core';
import { readPid, redisAnswers } from '../../scripts/services';
import { freePort } from '../support/free-port';
import { startPrivateServices } from './private-services';

const dir = mkdtempSync(join(tmpdir(), 'moodstream-private-services-'));
let foreign: ChildProcess | null = null;
const kafkaPid = (): number | null => readPid(join(dir, 'kafka.pid'));
const answers = async (port: number): Promise<boolean> => (await redisAnswers(`redis://127.0.0.1:${port}`)).ok;

after(() => {
  foreign?.kill('SIGKILL');
  // Whatever the outcome, no broker of this test outlives it.
  const broker = kafkaPid();
  if (broker !== null && isProcessAlive(broker)) process.kill(broker, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('the suite refuses a Redis it did not start on its port, stops the broker it started, and leaves that server alone', { timeout: 180_000 }, async () => {
  const redisPort = await freePort();
  let kafkaPort = await freePort();
  // The broker needs its port and the next one (the KRaft controller).
  while (kafkaPort === redisPort || kafkaPort + 1 === redisPort) kafkaPort = await freePort();
  foreign = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await answers(redisPort))) {
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
  const broker = kafkaPid();
  assert.ok(broker === null || !isProcessAlive(broker), `the broker the suite started is stopped (pid ${broker})`);
  assert.ok(await answers(redisPort), 'the server the suite did not start still runs');
});
