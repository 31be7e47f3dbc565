/**
 * Brings up the real services the integration tests and the distributed mode need:
 * a single-node Apache Kafka broker (KRaft) built from the official jars on Maven Central,
 * and a Redis server from Debian's redis-server. Both run detached and outlive this script.
 * Also installs what the tests need of the system when it is missing and we may (root with apt-get):
 * Java, Maven, redis-server, and the chromium the browser tests drive (`ensureChromium`).
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
import { AbortedError, isProcessAlive, retry, sleep, withProcessLock } from '@moodstream/core';

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

/** Kept a plain Error on purpose: a script's failure to start a service is never answered over HTTP nor retried. */
export class ServiceError extends Error {
  constructor(
    readonly service: 'kafka' | 'redis' | 'chromium',
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

/** Whether a service answers, and if not, why. */
export interface Probe {
  ok: boolean;
  reason: string;
}

// ---------------------------------------------------------------------------------------------
// Small process helpers

export function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

function which(command: string): string | null {
  const result = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found.length > 0 ? found : null;
}

function tail(file: string, lines = 25): string {
  if (!existsSync(file)) return '(no log file)';
  const text = readFileSync(file, 'utf8').trimEnd().split('\n');
  return text.slice(-lines).join('\n');
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export type AptOutcome = { ok: true } | { ok: false; reason: string };

/** What `aptInstall` runs, in order: the package lists are refreshed once per process. */
export function aptInstallCommands(packages: string[]): { update: string[]; install: string[] } {
  return {
    update: ['apt-get', 'update', '-qq'],
    install: ['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages],
  };
}

let aptUpdated = false;

function lastLines(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Installs Debian packages when we may (root, apt-get present); otherwise, or when apt fails, says why. */
function aptInstall(packages: string[], say: Say): AptOutcome {
  if (!isRoot()) return { ok: false, reason: 'not running as root, so nothing is installed' };
  if (which('apt-get') === null) return { ok: false, reason: 'apt-get not found, so nothing is installed' };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const { update, install } = aptInstallCommands(packages);
  const run = (argv: string[]) => spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
  if (!aptUpdated) {
    say(`${update.join(' ')} (to install ${packages.join(', ')})`);
    const updated = run(update);
    // Not fatal: the install below may still succeed from the lists already there, and says so if not.
    if (updated.status !== 0) say(`apt-get update failed (exit ${updated.status}): ${lastLines(`${updated.stdout}${updated.stderr}`, 3)}`);
    aptUpdated = true;
  }
  say(install.join(' '));
  const result = run(install);
  if (result.status === 0) return { ok: true };
  const output = result.error?.message ?? lastLines(`${result.stdout}${result.stderr}`);
  return { ok: false, reason: `${install.join(' ')} failed (exit ${result.status}):\n${output}` };
}

/** A command or file found on the system, else its Debian package installed; null with the reason when neither worked. */
function findOrInstall(
  find: () => string | null,
  packages: string[],
  say: Say,
  install: (packages: string[], say: Say) => AptOutcome = aptInstall,
): { path: string } | { path: null; reason: string } {
  const found = find();
  if (found !== null) return { path: found };
  const outcome = install(packages, say);
  if (!outcome.ok) return { path: null, reason: outcome.reason };
  const installed = find();
  return installed === null ? { path: null, reason: `${packages.join(', ')} installed, but still not found` } : { path: installed };
}

/** One starter at a time: `npm test` in two terminals must not launch two brokers. */
async function withLock<T>(say: Say, fn: () => Promise<T>): Promise<T> {
  mkdirSync(STATE, { recursive: true });
  return withProcessLock(LOCK, fn, {
    signal: AbortSignal.timeout(KAFKA_START_TIMEOUT_MS + 60_000),
    onWait: (holder) => say(`services: waiting for another starter (pid ${holder}) to finish…`),
  });
}

/** A probe that has not answered yet: the one failure `waitUntilAnswering` tries again. */
class NotAnswering extends Error {}

/**
 * Probes every `everyMs` until the service answers or `timeoutMs` passes (then: not ok, with the last reason).
 * `stillStarting` may throw to give up early, e.g. when the process being waited for has exited.
 */
async function waitUntilAnswering(probe: () => Promise<Probe>, options: { everyMs: number; timeoutMs: number; stillStarting?: () => void }): Promise<Probe> {
  let last: Probe = { ok: false, reason: 'never probed' };
  try {
    await retry(
      async () => {
        options.stillStarting?.();
        last = await probe();
        if (!last.ok) throw new NotAnswering(last.reason);
      },
      {
        retries: Infinity,
        initialDelayMs: options.everyMs,
        maxDelayMs: options.everyMs,
        jitter: 0,
        shouldRetry: (error) => error instanceof NotAnswering,
        signal: AbortSignal.timeout(options.timeoutMs),
      },
    );
    return last;
  } catch (error) {
    if (error instanceof AbortedError || error instanceof NotAnswering) return last;
    throw error;
  }
}

/** How each service is found when it already runs: someone else's (named in an environment variable), or ours. */
interface ServiceSpec {
  service: 'kafka' | 'redis';
  envVar: 'KAFKA_BROKERS' | 'REDIS_URL';
  defaultAddress: string;
  /** "the Kafka broker", "the Redis server" */
  what: string;
  answers(address: string): Promise<Probe>;
}

/** The address the service is expected at: the environment's, else our default. */
function addressOf(spec: ServiceSpec): string {
  return process.env[spec.envVar]?.trim() || spec.defaultAddress;
}

/** The address of a service that already answers; null when we must start it. Someone else's must answer. */
async function alreadyAnswering(spec: ServiceSpec, say: Say): Promise<string | null> {
  const external = process.env[spec.envVar];
  if (external !== undefined && external.trim() !== '') {
    const probe = await spec.answers(external);
    if (!probe.ok) throw new ServiceError(spec.service, `${spec.envVar}=${external} is set but does not answer: ${probe.reason}`);
    say(`using ${spec.envVar}=${external} (not starting ${spec.what.replace(/^the /, 'a ')})`);
    return external;
  }
  if ((await spec.answers(spec.defaultAddress)).ok) {
    say(`reusing ${spec.what} already answering on ${spec.defaultAddress}`);
    return spec.defaultAddress;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Kafka

function parseBrokers(value: string): string[] {
  return value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

async function kafkaAnswers(brokers: string): Promise<Probe> {
  const result = await probeKafka(parseBrokers(brokers), 2_000);
  return result.ok ? { ok: true, reason: '' } : { ok: false, reason: result.reason };
}

const KAFKA: ServiceSpec = { service: 'kafka', envVar: 'KAFKA_BROKERS', defaultAddress: DEFAULT_KAFKA_BROKERS, what: 'the Kafka broker', answers: kafkaAnswers };

function javaMajorVersion(java: string): number | null {
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}${result.stdout}`);
  if (match === null) return null;
  const major = Number(match[1]);
  // Java 8 and older report "1.8".
  return major === 1 ? Number(match[2]) : major;
}

function requireJava(say: Say): string {
  const found = findOrInstall(() => which('java'), ['openjdk-17-jre-headless'], say);
  const java = found.path;
  if (java === null) {
    throw new ServiceError('kafka', `Java 17 not found on PATH (install openjdk-17-jre-headless), or set KAFKA_BROKERS to a broker you run (${found.reason})`);
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
  const found = findOrInstall(() => which('mvn'), ['maven'], say);
  const mvn = found.path;
  if (mvn === null) {
    throw new ServiceError(
      'kafka',
      `Maven (mvn) not found: it is needed once to fetch Kafka ${KAFKA_VERSION} from Maven Central into ${JAR_DIR}. Install maven, or set KAFKA_BROKERS (${found.reason})`,
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
/**
 * A KRaft cluster id: 16 random bytes, base64url (22 characters), as kafka-storage expects. Never one starting with
 * "-" (1 in 64 draws): kafka-storage's argparse would read it as a flag and refuse to format (Kafka's own
 * Uuid.randomUuid redraws those for the same reason).
 */
export function newClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
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

  const probe = await waitUntilAnswering(() => kafkaAnswers(DEFAULT_KAFKA_BROKERS), {
    everyMs: 500,
    timeoutMs: KAFKA_START_TIMEOUT_MS,
    stillStarting: () => {
      if (exitCode === null) return;
      rmSync(KAFKA_PID, { force: true });
      throw new ServiceError('kafka', `broker exited with code ${exitCode} during start-up; last lines of ${KAFKA_LOG}:\n${tail(KAFKA_LOG)}`);
    },
  });
  if (!probe.ok) {
    throw new ServiceError(
      'kafka',
      `broker did not answer on ${DEFAULT_KAFKA_BROKERS} within ${KAFKA_START_TIMEOUT_MS / 1000}s (last error: ${probe.reason}); last lines of ${KAFKA_LOG}:\n${tail(KAFKA_LOG)}`,
    );
  }
  say(`Kafka ${KAFKA_VERSION} answers on ${DEFAULT_KAFKA_BROKERS} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

/** Another `up` started the broker and is still waiting for it: wait too, as long as that process lives. */
async function waitForExistingKafka(pid: number, say: Say): Promise<void> {
  say(`Kafka process ${pid} exists but does not answer yet: waiting for it`);
  const probe = await waitUntilAnswering(() => kafkaAnswers(DEFAULT_KAFKA_BROKERS), {
    everyMs: 500,
    timeoutMs: KAFKA_START_TIMEOUT_MS,
    stillStarting: () => {
      if (!isProcessAlive(pid)) throw new ServiceError('kafka', `process ${pid} from ${KAFKA_PID} exited before the broker answered; last lines of ${KAFKA_LOG}:\n${tail(KAFKA_LOG)}`);
    },
  });
  if (!probe.ok) {
    throw new ServiceError('kafka', `process ${pid} from ${KAFKA_PID} is running but the broker never answered; last lines of ${KAFKA_LOG}:\n${tail(KAFKA_LOG)}`);
  }
}

async function kafkaUp(say: Say): Promise<string> {
  const running = await alreadyAnswering(KAFKA, say);
  if (running !== null) return running;
  const pid = readPid(KAFKA_PID);
  if (pid !== null && isProcessAlive(pid)) {
    await waitForExistingKafka(pid, say);
    return DEFAULT_KAFKA_BROKERS;
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
  if (pid === null || !isProcessAlive(pid)) {
    rmSync(pidFile, { force: true });
    say(`${name}: not running (nothing started by this project)`);
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = AbortSignal.timeout(timeoutMs);
  while (isProcessAlive(pid) && (await sleep(250, { signal: deadline })));
  if (isProcessAlive(pid)) {
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
export async function redisAnswers(url: string): Promise<Probe> {
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

const REDIS: ServiceSpec = { service: 'redis', envVar: 'REDIS_URL', defaultAddress: DEFAULT_REDIS_URL, what: 'the Redis server', answers: redisAnswers };

function findRedisServer(say: Say): string {
  const find = (): string | null =>
    [which('redis-server'), '/usr/bin/redis-server', '/usr/sbin/redis-server'].find((c): c is string => c !== null && existsSync(c)) ?? null;
  const found = findOrInstall(find, ['redis-server'], say);
  if (found.path === null) throw new ServiceError('redis', `redis-server not found (install Debian package redis-server, or set REDIS_URL): ${found.reason}`);
  return found.path;
}

async function redisUp(say: Say): Promise<string> {
  const running = await alreadyAnswering(REDIS, say);
  if (running !== null) return running;
  const server = findRedisServer(say);
  mkdirSync(STATE, { recursive: true });
  const started = Date.now();
  // Append-only file on (fsync once a second, no RDB snapshots): a Redis restart loses at most the last second of
  // aggregates instead of all of them. The AOF lives in the state folder and is rewritten as it grows.
  const result = spawnSync(
    server,
    [
      '--port', String(REDIS_PORT),
      '--bind', '127.0.0.1',
      '--daemonize', 'yes',
      '--save', '',
      '--appendonly', 'yes',
      '--appendfsync', 'everysec',
      '--pidfile', REDIS_PID,
      '--logfile', REDIS_LOG,
      '--dir', STATE,
    ],
    { encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new ServiceError('redis', `${server} failed to start (exit ${result.status}): ${`${result.stdout}${result.stderr}`.trim()}\n${tail(REDIS_LOG)}`);
  }
  const ping = await waitUntilAnswering(() => redisAnswers(DEFAULT_REDIS_URL), { everyMs: 200, timeoutMs: REDIS_START_TIMEOUT_MS });
  if (!ping.ok) throw new ServiceError('redis', `server did not answer on ${DEFAULT_REDIS_URL} (${ping.reason}); last lines of ${REDIS_LOG}:\n${tail(REDIS_LOG)}`);
  say(`Redis answers on ${DEFAULT_REDIS_URL} after ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return DEFAULT_REDIS_URL;
}

// ---------------------------------------------------------------------------------------------
// Chromium, for the browser (e2e) tests

/** Where the browser tests look for Debian's chromium unless CHROMIUM_PATH says otherwise. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

export interface ChromiumOptions {
  /** Where Debian's package puts it; tests move it. */
  path?: string;
  /** Default: apt-get (as root). Tests pass a stand-in. */
  install?: (packages: string[], say: Say) => AptOutcome;
}

/**
 * The browser the e2e tests drive: returns its path, installing Debian's chromium with apt-get first when it is missing
 * (as for redis-server). A path set in CHROMIUM_PATH is only checked: it is someone else's browser.
 */
export function ensureChromium(say: Say, options: ChromiumOptions = {}): string {
  const custom = process.env['CHROMIUM_PATH']?.trim() || undefined;
  if (options.path === undefined && custom !== undefined) {
    if (existsSync(custom)) return custom;
    throw new ServiceError('chromium', `CHROMIUM_PATH=${custom} does not exist (point it at a Chromium executable, or unset it to use ${DEBIAN_CHROMIUM})`);
  }
  const path = options.path ?? DEBIAN_CHROMIUM;
  if (existsSync(path)) return path;
  say(`${path} is missing: installing Debian's chromium for the browser tests (first run only, a few minutes)`);
  const started = Date.now();
  const found = findOrInstall(() => (existsSync(path) ? path : null), ['chromium'], say, options.install);
  if (found.path === null) {
    throw new ServiceError('chromium', `${path} not found and not installed: ${found.reason}\nInstall Debian package chromium (apt-get install chromium), or set CHROMIUM_PATH to a Chromium executable`);
  }
  say(`installed ${path} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return path;
}

// ---------------------------------------------------------------------------------------------
// Commands

/** Starts (or reuses) both services; throws a ServiceError naming the one that failed and why. */
export async function servicesUp(say: Say = (line) => console.log(line)): Promise<Services> {
  return withLock(say, async () => {
    const redisUrl = await redisUp((line) => say(`redis: ${line}`));
    const kafkaBrokers = await kafkaUp((line) => say(`kafka: ${line}`));
    return { kafkaBrokers, redisUrl };
  });
}

export async function servicesDown(say: Say = (line) => console.log(line)): Promise<void> {
  await withLock(say, async () => {
    await stopPid(KAFKA_PID, 'kafka', say, 60_000);
    await stopPid(REDIS_PID, 'redis', say, 15_000);
  });
}

export async function servicesStatus(say: Say = (line) => console.log(line)): Promise<boolean> {
  const brokers = addressOf(KAFKA);
  const redisUrl = addressOf(REDIS);
  const kafka = await kafkaAnswers(brokers);
  const redis = await redisAnswers(redisUrl);
  const kafkaPid = readPid(KAFKA_PID);
  const redisPid = readPid(REDIS_PID);
  const owned = (pid: number | null): string => (pid !== null && isProcessAlive(pid) ? ` (started by this project, pid ${pid})` : '');
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
