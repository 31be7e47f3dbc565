/**
 * Brings up the real services the integration tests and the distributed mode need:
 * a single-node Apache Kafka broker (KRaft) built from the official jars on Maven Central,
 * and a Redis server from Debian's redis-server. Both run detached and outlive this script.
 *
 *   node --import tsx scripts/services.ts up|down|status
 *
 * KAFKA_BROKERS / REDIS_URL, when set, point at services someone else runs: nothing is started,
 * they are only checked.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { probeKafka } from '@moodstream/bus';

export const KAFKA_VERSION = '3.9.1';
export const SCALA_VERSION = '2.13';
const SLF4J_VERSION = '1.7.36';
const RELOAD4J_VERSION = '1.2.25';
const DEPENDENCY_PLUGIN_VERSION = '3.8.1';

/**
 * Ports and the state folder can be moved (MOODSTREAM_SERVICES_*), so the script's own test can run a
 * second, private pair of services next to the shared one.
 */
function portFromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`${name}=${value} is not a TCP port`);
  return port;
}
const KAFKA_PORT = portFromEnv('MOODSTREAM_SERVICES_KAFKA_PORT', 9092);
const CONTROLLER_PORT = portFromEnv('MOODSTREAM_SERVICES_CONTROLLER_PORT', KAFKA_PORT + 1);
const REDIS_PORT = portFromEnv('MOODSTREAM_SERVICES_REDIS_PORT', 6379);
export const DEFAULT_KAFKA_BROKERS = `127.0.0.1:${KAFKA_PORT}`;
export const DEFAULT_REDIS_URL = `redis://127.0.0.1:${REDIS_PORT}`;
const KAFKA_START_TIMEOUT_MS = 180_000;
const REDIS_START_TIMEOUT_MS = 20_000;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const JAR_CACHE = join(ROOT, '.cache', `kafka-${KAFKA_VERSION}`);
const JAR_DIR = join(JAR_CACHE, 'libs');
const STATE = resolve(process.env['MOODSTREAM_SERVICES_DIR'] || join(ROOT, '.cache', 'services'));
const KAFKA_DATA = join(STATE, `kafka-${KAFKA_VERSION}-data`);
const KAFKA_LOG = join(STATE, 'kafka.log');
const KAFKA_PID = join(STATE, 'kafka.pid');
const REDIS_LOG = join(STATE, 'redis.log');
const REDIS_PID = join(STATE, 'redis.pid');
const LOCK = join(STATE, 'services.lock');

export class ServiceError extends Error {
  constructor(
    readonly service: 'kafka' | 'redis',
    message: string,
  ) {
    super(`${service}: ${message}`);
    this.name = 'ServiceError';
  }
}

export interface Services {
  kafkaBrokers: string;
  redisUrl: string;
}

type Say = (line: string) => void;

// ---------------------------------------------------------------------------------------------
// Small process helpers

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function which(command: string): string | null {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found.length > 0 ? found : null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(file: string, lines = 25): string {
  if (!existsSync(file)) return '(no log file)';
  const text = readFileSync(file, 'utf8').trimEnd().split('\n');
  return text.slice(-lines).join('\n');
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

let aptUpdated = false;

/** Installs Debian packages when we may (root, apt-get present); returns false when we may not. */
function aptInstall(packages: string[], say: Say): boolean {
  if (!isRoot() || which('apt-get') === null) return false;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    say(`apt-get update (to install ${packages.join(', ')})`);
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    aptUpdated = true;
  }
  say(`apt-get install ${packages.join(' ')}`);
  const result = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    encoding: 'utf8',
    env,
  });
  return result.status === 0;
}

/** One starter at a time: `npm test` in two terminals must not launch two brokers. */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(STATE, { recursive: true });
  const deadline = Date.now() + KAFKA_START_TIMEOUT_MS + 60_000;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readPid(LOCK);
      if (holder === null || !isAlive(holder)) {
        rmSync(LOCK, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`services lock ${LOCK} held by pid ${holder} for too long`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    if (readPid(LOCK) === process.pid) rmSync(LOCK, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Kafka

function parseBrokers(value: string): string[] {
  return value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

async function kafkaAnswers(brokers: string): Promise<{ ok: boolean; reason: string }> {
  const result = await probeKafka(parseBrokers(brokers), 2_000);
  return result.ok ? { ok: true, reason: '' } : { ok: false, reason: result.reason };
}

function javaMajorVersion(java: string): number | null {
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  if (match === null) return null;
  const major = Number(match[1]);
  // Java 8 and older report "1.8".
  return major === 1 ? Number(match[2]) : major;
}

function requireJava(say: Say): string {
  let java = which('java');
  if (java === null && aptInstall(['openjdk-17-jre-headless'], say)) java = which('java');
  if (java === null) {
    throw new ServiceError('kafka', 'Java 17 not found on PATH (install openjdk-17-jre-headless), or set KAFKA_BROKERS to a broker you run');
  }
  const major = javaMajorVersion(java);
  if (major === null || major < 17) {
    throw new ServiceError('kafka', `Java 17 not found: ${java} is version ${major ?? 'unknown'}; Kafka ${KAFKA_VERSION} is run here on Java 17+`);
  }
  return java;
}

function pomXml(): string {
  const dep = (groupId: string, artifactId: string, version: string): string =>
    `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/services.ts: only used to fetch the Kafka broker's jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>moodstream.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', `kafka_${SCALA_VERSION}`, KAFKA_VERSION)}
${dep('org.slf4j', 'slf4j-reload4j', SLF4J_VERSION)}
${dep('ch.qos.reload4j', 'reload4j', RELOAD4J_VERSION)}
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>${DEPENDENCY_PLUGIN_VERSION}</version>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

const LOG4J_PROPERTIES = `# Generated by scripts/services.ts
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
`;

/** Fetches the broker's jars once into a git-ignored cache; later runs reuse it. */
function ensureJars(say: Say): void {
  const marker = join(JAR_CACHE, '.complete');
  if (existsSync(marker)) return;
  let mvn = which('mvn');
  if (mvn === null && aptInstall(['maven'], say)) mvn = which('mvn');
  if (mvn === null) {
    throw new ServiceError(
      'kafka',
      `Maven (mvn) not found: it is needed once to fetch Kafka ${KAFKA_VERSION} from Maven Central into ${JAR_DIR}. Install maven, or set KAFKA_BROKERS`,
    );
  }
  mkdirSync(JAR_CACHE, { recursive: true });
  rmSync(JAR_DIR, { recursive: true, force: true });
  writeFileSync(join(JAR_CACHE, 'pom.xml'), pomXml());
  say(`fetching Kafka ${KAFKA_VERSION} jars from Maven Central into ${JAR_DIR} (first run only)`);
  const started = Date.now();
  const result = spawnSync(
    mvn,
    ['-q', '-B', '-f', join(JAR_CACHE, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${JAR_DIR}`],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  if (result.status !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim().split('\n').slice(-20).join('\n');
    throw new ServiceError('kafka', `mvn could not fetch Kafka ${KAFKA_VERSION} jars (exit ${result.status}):\n${output}`);
  }
  const jars = readdirSync(JAR_DIR).filter((f) => f.endsWith('.jar'));
  if (!jars.some((j) => j.startsWith(`kafka_${SCALA_VERSION}-${KAFKA_VERSION}`))) {
    throw new ServiceError('kafka', `mvn finished but ${JAR_DIR} holds no kafka_${SCALA_VERSION}-${KAFKA_VERSION}.jar`);
  }
  writeFileSync(marker, `${jars.sort().join('\n')}\n`);
  say(`fetched ${jars.length} jars in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

function serverProperties(): string {
  return `# Generated by scripts/services.ts: single-node KRaft broker for development and tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT},CONTROLLER://127.0.0.1:${CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:${KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=${KAFKA_DATA}
num.partitions=3
auto.create.topics.enable=true
delete.topic.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
# Records carry the post's own time, which can be months old (backfills, archive replays, fixtures):
# retention by time would delete them minutes after they are written. Bound the disk by size instead.
log.retention.ms=-1
log.retention.bytes=268435456
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
num.network.threads=2
num.io.threads=4
`;
}

function javaArgs(mainClass: string, args: string[]): string[] {
  return [
    '-Xms128m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=${pathToFileURL(join(JAR_CACHE, 'log4j.properties')).href}`,
    '-cp',
    `${JAR_DIR}/*`,
    mainClass,
    ...args,
  ];
}

/** Kafka's own UUID format: 16 random bytes, URL-safe base64 without padding. */
function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

function formatStorage(java: string, configFile: string): void {
  if (existsSync(join(KAFKA_DATA, 'meta.properties'))) return;
  mkdirSync(KAFKA_DATA, { recursive: true });
  const result = spawnSync(java, javaArgs('kafka.tools.StorageTool', ['format', '-t', newClusterId(), '-c', configFile, '--ignore-formatted']), {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new ServiceError('kafka', `formatting ${KAFKA_DATA} with kafka.tools.StorageTool failed (exit ${result.status}):\n${`${result.stdout}\n${result.stderr}`.trim()}`);
  }
}

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}

async function startKafka(say: Say): Promise<void> {
  const java = requireJava(say);
  ensureJars(say);
  mkdirSync(STATE, { recursive: true });
  writeFileSync(join(JAR_CACHE, 'log4j.properties'), LOG4J_PROPERTIES);
  const configFile = join(STATE, 'kafka-server.properties');
  writeFileSync(configFile, serverProperties());
  formatStorage(java, configFile);

  const started = Date.now();
  const logFd = openSync(KAFKA_LOG, 'w');
  const child = spawn(java, javaArgs('kafka.Kafka', [configFile]), {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    cwd: STATE,
  });
  closeSync(logFd);
  if (child.pid === undefined) throw new ServiceError('kafka', `could not spawn ${java}`);
  writeFileSync(KAFKA_PID, String(child.pid));
  let exitCode: number | null = null;
  child.once('exit', (code, signal) => {
    exitCode = code ?? (signal === null ? -1 : 128);
  });
  child.unref();
  say(`starting Kafka ${KAFKA_VERSION} (pid ${child.pid}, log ${KAFKA_LOG})`);

  let lastReason = '';
  while (Date.now() - started < KAFKA_START_TIMEOUT_MS) {
    if (exitCode !== null) {
      rmSync(KAFKA_PID, { force: true });
      throw new ServiceError('kafka', `broker exited with code ${exitCode} during start-up; last lines of ${KAFKA_LOG}:\n${tail(KAFKA_LOG)}`);
    }
    const probe = await kafkaAnswers(DEFAULT_KAFKA_BROKERS);
    if (probe.ok) {
      say(`Kafka ${KAFKA_VERSION} answers on ${DEFAULT_KAFKA_BROKERS} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
      return;
    }
    lastReason = probe.reason;
    await sleep(500);
  }
  throw new ServiceError(
    'kafka',
    `broker did not answer on ${DEFAULT_KAFKA_BROKERS} within ${KAFKA_START_TIMEOUT_MS / 1000}s (last error: ${lastReason}); last lines of ${KAFKA_LOG}:\n${tail(KAFKA_LOG)}`,
  );
}

async function waitForExistingKafka(pid: number, say: Say): Promise<boolean> {
  say(`Kafka process ${pid} exists but does not answer yet: waiting for it`);
  const deadline = Date.now() + KAFKA_START_TIMEOUT_MS;
  while (Date.now() < deadline && isAlive(pid)) {
    if ((await kafkaAnswers(DEFAULT_KAFKA_BROKERS)).ok) return true;
    await sleep(500);
  }
  return false;
}

async function kafkaUp(say: Say): Promise<string> {
  const external = process.env['KAFKA_BROKERS'];
  if (external !== undefined && external.trim() !== '') {
    const probe = await kafkaAnswers(external);
    if (!probe.ok) throw new ServiceError('kafka', `KAFKA_BROKERS=${external} is set but does not answer: ${probe.reason}`);
    say(`using KAFKA_BROKERS=${external} (not starting a broker)`);
    return external;
  }
  if ((await kafkaAnswers(DEFAULT_KAFKA_BROKERS)).ok) {
    say(`reusing the Kafka broker already answering on ${DEFAULT_KAFKA_BROKERS}`);
    return DEFAULT_KAFKA_BROKERS;
  }
  const pid = readPid(KAFKA_PID);
  if (pid !== null && isAlive(pid)) {
    if (await waitForExistingKafka(pid, say)) return DEFAULT_KAFKA_BROKERS;
    throw new ServiceError('kafka', `process ${pid} from ${KAFKA_PID} is running but the broker never answered; last lines of ${KAFKA_LOG}:\n${tail(KAFKA_LOG)}`);
  }
  for (const port of [KAFKA_PORT, CONTROLLER_PORT]) {
    if (await portInUse(port)) {
      throw new ServiceError('kafka', `port ${port} on 127.0.0.1 is taken by something that is not an answering Kafka broker; free it or set KAFKA_BROKERS`);
    }
  }
  await startKafka(say);
  return DEFAULT_KAFKA_BROKERS;
}

async function stopPid(pidFile: string, name: string, say: Say, timeoutMs: number): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === null || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    say(`${name}: not running (nothing started by this project)`);
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(250);
  if (isAlive(pid)) {
    say(`${name}: pid ${pid} ignored SIGTERM for ${timeoutMs / 1000}s, sending SIGKILL`);
    process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
  say(`${name}: stopped (pid ${pid})`);
}

// ---------------------------------------------------------------------------------------------
// Redis

function redisHostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: parsed.port === '' ? REDIS_PORT : Number(parsed.port) };
}

/** A bare RESP PING, so checking Redis needs no client library. */
async function redisAnswers(url: string): Promise<{ ok: boolean; reason: string }> {
  const { host, port } = redisHostPort(url);
  return new Promise((resolvePing) => {
    const socket = connect({ host, port });
    let reply = '';
    const done = (ok: boolean, reason: string): void => {
      socket.destroy();
      resolvePing({ ok, reason });
    };
    socket.setTimeout(2_000, () => done(false, 'timed out'));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) {
        // -NOAUTH still means a Redis server answers; a protected one is the user's to configure.
        done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'), `unexpected reply ${JSON.stringify(reply.trim())}`);
      }
    });
    socket.once('error', (error) => done(false, error.message));
  });
}

function findRedisServer(say: Say): string {
  const candidates = [which('redis-server'), '/usr/bin/redis-server', '/usr/sbin/redis-server'];
  for (const candidate of candidates) if (candidate !== null && existsSync(candidate)) return candidate;
  if (aptInstall(['redis-server'], say) && existsSync('/usr/bin/redis-server')) return '/usr/bin/redis-server';
  throw new ServiceError('redis', 'redis-server not found (install Debian package redis-server, or set REDIS_URL)');
}

async function redisUp(say: Say): Promise<string> {
  const external = process.env['REDIS_URL'];
  if (external !== undefined && external.trim() !== '') {
    const ping = await redisAnswers(external);
    if (!ping.ok) throw new ServiceError('redis', `REDIS_URL=${external} is set but does not answer: ${ping.reason}`);
    say(`using REDIS_URL=${external} (not starting a server)`);
    return external;
  }
  if ((await redisAnswers(DEFAULT_REDIS_URL)).ok) {
    say(`reusing the Redis server already answering on ${DEFAULT_REDIS_URL}`);
    return DEFAULT_REDIS_URL;
  }
  const server = findRedisServer(say);
  mkdirSync(STATE, { recursive: true });
  const started = Date.now();
  // No persistence: test data must not survive a restart or fill the disk.
  const result = spawnSync(
    server,
    [
      '--port', String(REDIS_PORT),
      '--bind', '127.0.0.1',
      '--daemonize', 'yes',
      '--save', '',
      '--appendonly', 'no',
      '--pidfile', REDIS_PID,
      '--logfile', REDIS_LOG,
      '--dir', STATE,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new ServiceError('redis', `${server} failed to start (exit ${result.status}): ${`${result.stdout}${result.stderr}`.trim()}\n${tail(REDIS_LOG)}`);
  }
  let lastReason = '';
  while (Date.now() - started < REDIS_START_TIMEOUT_MS) {
    const ping = await redisAnswers(DEFAULT_REDIS_URL);
    if (ping.ok) {
      say(`Redis answers on ${DEFAULT_REDIS_URL} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
      return DEFAULT_REDIS_URL;
    }
    lastReason = ping.reason;
    await sleep(200);
  }
  throw new ServiceError('redis', `server did not answer on ${DEFAULT_REDIS_URL} (${lastReason}); last lines of ${REDIS_LOG}:\n${tail(REDIS_LOG)}`);
}

// ---------------------------------------------------------------------------------------------
// Commands

/** Starts (or reuses) both services; throws a ServiceError naming the one that failed and why. */
export async function servicesUp(say: Say = (line) => console.log(line)): Promise<Services> {
  return withLock(async () => {
    const redisUrl = await redisUp((line) => say(`redis: ${line}`));
    const kafkaBrokers = await kafkaUp((line) => say(`kafka: ${line}`));
    return { kafkaBrokers, redisUrl };
  });
}

export async function servicesDown(say: Say = (line) => console.log(line)): Promise<void> {
  await withLock(async () => {
    await stopPid(KAFKA_PID, 'kafka', say, 60_000);
    await stopPid(REDIS_PID, 'redis', say, 15_000);
  });
}

export async function servicesStatus(say: Say = (line) => console.log(line)): Promise<boolean> {
  const brokers = process.env['KAFKA_BROKERS']?.trim() || DEFAULT_KAFKA_BROKERS;
  const redisUrl = process.env['REDIS_URL']?.trim() || DEFAULT_REDIS_URL;
  const kafka = await kafkaAnswers(brokers);
  const redis = await redisAnswers(redisUrl);
  const kafkaPid = readPid(KAFKA_PID);
  const redisPid = readPid(REDIS_PID);
  const owned = (pid: number | null): string => (pid !== null && isAlive(pid) ? ` (started by this project, pid ${pid})` : '');
  say(`kafka ${brokers}: ${kafka.ok ? 'up' : `down (${kafka.reason})`}${owned(kafkaPid)}`);
  say(`redis ${redisUrl}: ${redis.ok ? 'up' : `down (${redis.reason})`}${owned(redisPid)}`);
  return kafka.ok && redis.ok;
}

async function main(command: string | undefined): Promise<number> {
  switch (command) {
    case 'up': {
      const services = await servicesUp();
      console.log(`KAFKA_BROKERS=${services.kafkaBrokers}`);
      console.log(`REDIS_URL=${services.redisUrl}`);
      return 0;
    }
    case 'down':
      await servicesDown();
      return 0;
    case 'status':
      return (await servicesStatus()) ? 0 : 1;
    default:
      console.error('usage: node --import tsx scripts/services.ts up|down|status');
      return 2;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv[2]).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
