/**
 * scripts/services.ts for real: a private Kafka + Redis pair on free ports and in a temporary state
 * folder (the shared pair on 9092/6379 is left alone), started, reused, reported and stopped.
 * And the chromium set-up `npm test` does for the browser tests, with apt-get stood in for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { probeKafka } from '@moodstream/bus';
import { DEBIAN_CHROMIUM, ServiceError, aptInstallCommands, ensureChromium, type AptOutcome } from '../scripts/services';
import { freePort } from './support/free-port';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const state = mkdtempSync(join(tmpdir(), 'moodstream-services-test-'));


const ports = { kafka: await freePort(), controller: await freePort(), redis: await freePort() };

function services(command: string, extraEnv: Record<string, string> = {}): { status: number | null; output: string; ms: number } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MOODSTREAM_SERVICES_DIR: state,
    MOODSTREAM_SERVICES_KAFKA_PORT: String(ports.kafka),
    MOODSTREAM_SERVICES_CONTROLLER_PORT: String(ports.controller),
    MOODSTREAM_SERVICES_REDIS_PORT: String(ports.redis),
    ...extraEnv,
  };
  // npm test exports the shared services' addresses; this test is about starting its own.
  if (!('KAFKA_BROKERS' in extraEnv)) delete env['KAFKA_BROKERS'];
  if (!('REDIS_URL' in extraEnv)) delete env['REDIS_URL'];
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/services.ts', command], { cwd: ROOT, env, encoding: 'utf8', timeout: 240_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}`, ms: Date.now() - started };
}

function pidFrom(file: string): number | null {
  const path = join(state, file);
  return existsSync(path) ? Number(readFileSync(path, 'utf8').trim()) : null;
}

function alive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

after(() => {
  // Whatever happened above, leave no broker or server behind.
  for (const file of ['kafka.pid', 'redis.pid']) {
    const pid = pidFrom(file);
    if (alive(pid) && pid !== null) process.kill(pid, 'SIGKILL');
  }
  rmSync(state, { recursive: true, force: true });
});

test('services up starts Kafka (KRaft) and Redis, a second up reuses them, status reports them, down stops them', async () => {
  const brokers = `127.0.0.1:${ports.kafka}`;
  const up = services('up');
  assert.equal(up.status, 0, up.output);
  assert.match(up.output, /kafka: starting Kafka 3\.9\.1 \(pid \d+/);
  assert.match(up.output, new RegExp(`Kafka 3\\.9\\.1 answers on ${brokers} after [\\d.]+s`));
  assert.match(up.output, new RegExp(`Redis answers on redis://127\\.0\\.0\\.1:${ports.redis}`));
  assert.match(up.output, new RegExp(`^KAFKA_BROKERS=${brokers}$`, 'm'));
  assert.ok((await probeKafka([brokers], 5_000)).ok, 'the broker answers after up returned');
  const kafkaPid = pidFrom('kafka.pid');
  const redisPid = pidFrom('redis.pid');
  assert.ok(alive(kafkaPid) && alive(redisPid), 'both run detached, after the script exited');
  const properties = readFileSync(join(state, 'kafka-server.properties'), 'utf8');
  assert.match(properties, /^process\.roles=broker,controller$/m);
  // Records carry post times that may be years old: retention must not be by time.
  assert.match(properties, /^log\.retention\.ms=-1$/m);

  const again = services('up');
  assert.equal(again.status, 0, again.output);
  assert.match(again.output, new RegExp(`reusing the Kafka broker already answering on ${brokers}`));
  assert.match(again.output, /reusing the Redis server already answering/);
  assert.equal(pidFrom('kafka.pid'), kafkaPid, 'no second broker');

  const status = services('status');
  assert.equal(status.status, 0, status.output);
  assert.match(status.output, new RegExp(`kafka ${brokers}: up \\(started by this project, pid ${kafkaPid}\\)`));

  const down = services('down');
  assert.equal(down.status, 0, down.output);
  assert.match(down.output, new RegExp(`kafka: stopped \\(pid ${kafkaPid}\\)`));
  assert.match(down.output, new RegExp(`redis: stopped \\(pid ${redisPid}\\)`));
  assert.ok(!alive(kafkaPid) && !alive(redisPid), 'both processes are gone');
  assert.equal((await probeKafka([brokers], 1_000)).ok, false);

  const after = services('status');
  assert.equal(after.status, 1, 'status fails when the services are down');
  assert.match(after.output, new RegExp(`kafka ${brokers}: down`));
  console.log(`services up (warm jar cache): ${up.ms} ms; second up: ${again.ms} ms; down: ${down.ms} ms`);
});

test('with KAFKA_BROKERS / REDIS_URL set, up starts nothing and says which service does not answer', () => {
  const deadRedis = services('up', { REDIS_URL: `redis://127.0.0.1:${ports.redis}`, KAFKA_BROKERS: `127.0.0.1:${ports.kafka}` });
  assert.equal(deadRedis.status, 1);
  assert.match(deadRedis.output, new RegExp(`^redis: REDIS_URL=redis://127\\.0\\.0\\.1:${ports.redis} is set but does not answer: .*ECONNREFUSED`, 'm'));

  const sharedRedis = process.env['REDIS_URL'];
  assert.ok(sharedRedis, 'REDIS_URL is not set: run this through `npm test`');
  const deadKafka = services('up', { REDIS_URL: sharedRedis, KAFKA_BROKERS: `127.0.0.1:${ports.kafka}` });
  assert.equal(deadKafka.status, 1);
  assert.match(deadKafka.output, new RegExp(`^kafka: KAFKA_BROKERS=127\\.0\\.0\\.1:${ports.kafka} is set but does not answer: .*ECONNREFUSED`, 'm'));
  assert.equal(pidFrom('kafka.pid'), null, 'no broker was started');
  assert.equal(pidFrom('redis.pid'), null, 'no Redis was started');
});

test('chromium for the browser tests: one already there is used as it is; a missing one is installed with apt-get, and a failed install says why', () => {
  const lines: string[] = [];
  const say = (line: string): void => void lines.push(line);
  const asked: string[][] = [];
  const failingApt = (packages: string[]): AptOutcome => {
    asked.push(packages);
    return { ok: false, reason: `${aptInstallCommands(packages).install.join(' ')} failed (exit 100):\nE: Unable to locate package chromium` };
  };

  // Already installed: returned as it is, nothing run, nothing said.
  assert.equal(ensureChromium(say, { path: process.execPath, install: failingApt }), process.execPath);
  assert.deepEqual(asked, []);
  assert.deepEqual(lines, []);

  // What it would run as root.
  assert.deepEqual(aptInstallCommands(['chromium']), {
    update: ['apt-get', 'update', '-qq'],
    install: ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'chromium'],
  });
  assert.equal(DEBIAN_CHROMIUM, '/usr/bin/chromium', 'where the browser tests look for it');

  // Missing, and apt fails: a progress line first, then an error with apt's own words and what to do.
  const missing = join(state, 'bin', 'chromium');
  assert.throws(
    () => ensureChromium(say, { path: missing, install: failingApt }),
    (error: unknown) =>
      error instanceof ServiceError &&
      error.service === 'chromium' &&
      error.message.includes(`chromium: ${missing} not found and not installed: apt-get install -y -qq --no-install-recommends chromium failed (exit 100):`) &&
      error.message.includes('E: Unable to locate package chromium') &&
      error.message.includes('Install Debian package chromium'),
  );
  assert.deepEqual(asked, [['chromium']]);
  assert.match(lines[0] ?? '', /is missing: installing Debian's chromium for the browser tests/);

  // Missing, and apt succeeds.
  lines.length = 0;
  const installed = join(state, 'chromium');
  const installingApt = (): AptOutcome => {
    writeFileSync(installed, '');
    return { ok: true };
  };
  assert.equal(ensureChromium(say, { path: installed, install: installingApt }), installed);
  assert.match(lines.at(-1) ?? '', /^installed .+ in [\d.]+s$/);
});

test('chromium: a CHROMIUM_PATH that does not exist is an error, never an apt-get install', () => {
  const before = process.env['CHROMIUM_PATH'];
  process.env['CHROMIUM_PATH'] = join(state, 'elsewhere', 'chrome');
  try {
    assert.throws(() => ensureChromium(() => undefined), /^ServiceError: chromium: CHROMIUM_PATH=.*elsewhere\/chrome does not exist/);
    process.env['CHROMIUM_PATH'] = process.execPath;
    assert.equal(ensureChromium(() => undefined), process.execPath);
  } finally {
    if (before === undefined) delete process.env['CHROMIUM_PATH'];
    else process.env['CHROMIUM_PATH'] = before;
  }
});
