/**
 * `npm test`: sets up what the tests need (scripts/services.ts: Kafka and Redis up, and Debian's chromium installed
 * for the browser tests when it is missing), then runs every test file with node:test, one file at a time, against
 * those real services.
 *
 *   npm test                      all tests
 *   npm test -- libs/bus trends   only files whose path contains one of the words
 *   SKIP_INTEGRATION=1 npm test   unit tests only (*.int.test.ts and *.e2e.test.ts are skipped, and said so)
 *   TEST_TIMEOUT_MS=600000 npm test   a longer limit per test (default 5 minutes)
 *   REDIS_CLUSTER_URL=redis://h:p,redis://h:p npm test   the Redis Cluster the cluster tests use (else a local
 *                                 three-node one is started on loopback ports, scripts/redis-cluster.ts)
 *
 * Ends with one plain line `N passed, N failed, N skipped` and a non-zero exit on any failure.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { redisClusterUp } from './redis-cluster';
import { ensureChromium, servicesUp } from './services';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** A hung test must fail the run, not stall CI: 5 minutes per test (and per file), TEST_TIMEOUT_MS to change. */
const PER_TEST_TIMEOUT_MS = Number(process.env['TEST_TIMEOUT_MS'] ?? 5 * 60_000);

type Kind = 'unit' | 'integration' | 'e2e';

export function testKind(file: string): Kind {
  if (file.endsWith('.e2e.test.ts')) return 'e2e';
  if (file.endsWith('.int.test.ts')) return 'integration';
  return 'unit';
}

function walk(dir: string, found: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) walk(full, found);
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) found.push(full);
  }
}

/** Test folders: libs/<name>/test, apps/<name>/test, the cross-app test/ and scripts/ (its tools' own tests). */
export function discoverTests(root: string): string[] {
  const dirs = [join(root, 'test'), join(root, 'scripts')];
  for (const group of ['libs', 'apps']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base)) {
      const dir = join(base, name, 'test');
      if (existsSync(dir) && statSync(dir).isDirectory()) dirs.push(dir);
    }
  }
  const found: string[] = [];
  for (const dir of dirs) walk(dir, found);
  const order: Record<Kind, number> = { unit: 0, integration: 1, e2e: 2 };
  return found
    .map((file) => relative(root, file))
    .sort((a, b) => order[testKind(a)] - order[testKind(b)] || a.localeCompare(b));
}

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  cancelled: number;
  todo: number;
}

/** Reads the totals node:test's TAP reporter prints at the end (`# pass 3` …). */
export function parseTapSummary(tap: string): Summary | null {
  const count = (label: string): number | null => {
    const matches = [...tap.matchAll(new RegExp(`^# ${label} (\\d+)$`, 'gm'))];
    const last = matches.at(-1);
    return last === undefined ? null : Number(last[1]);
  };
  const passed = count('pass');
  const failed = count('fail');
  if (passed === null || failed === null) return null;
  return { passed, failed, skipped: count('skipped') ?? 0, cancelled: count('cancelled') ?? 0, todo: count('todo') ?? 0 };
}

function runNodeTest(files: string[], env: NodeJS.ProcessEnv, tapFile: string): Promise<number> {
  const args = [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    `--test-timeout=${PER_TEST_TIMEOUT_MS}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ];
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolveRun(code ?? (signal === null ? 1 : 128));
    });
  });
}

/**
 * What the chosen files need besides node: Kafka and Redis for integration and e2e files (their addresses go into
 * `env`), Debian's chromium for e2e files. Returns why the run cannot go on, or null when everything is there.
 */
async function setUp(files: string[], env: NodeJS.ProcessEnv): Promise<string | null> {
  const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));
  if (files.some((file) => testKind(file) !== 'unit')) {
    try {
      const services = await servicesUp((line) => console.log(`[services] ${line}`));
      env['KAFKA_BROKERS'] = services.kafkaBrokers;
      env['REDIS_URL'] = services.redisUrl;
    } catch (error) {
      return `integration tests cannot run because a service did not start:\n${reason(error)}\n(people without Java can run unit tests only with SKIP_INTEGRATION=1; CI never does)`;
    }
  }
  // The trends store's cluster tests read REDIS_CLUSTER_URL: a local three-node cluster unless one is named.
  if (files.some((file) => testKind(file) !== 'unit' && readFileSync(join(ROOT, file), 'utf8').includes('REDIS_CLUSTER_URL'))) {
    try {
      env['REDIS_CLUSTER_URL'] = await redisClusterUp((line) => console.log(`[redis-cluster] ${line}`));
    } catch (error) {
      return `the Redis Cluster tests cannot run:\n${reason(error)}`;
    }
  }
  if (files.some((file) => testKind(file) === 'e2e')) {
    try {
      ensureChromium((line) => console.log(`[chromium] ${line}`));
    } catch (error) {
      return `browser tests cannot run without Chromium:\n${reason(error)}`;
    }
  }
  return null;
}

async function main(argv: string[]): Promise<number> {
  const started = Date.now();
  const filters = argv.filter((arg) => arg.length > 0);
  const skipIntegration = process.env['SKIP_INTEGRATION'] === '1';

  let files = discoverTests(ROOT);
  if (filters.length > 0) files = files.filter((file) => filters.some((filter) => file.includes(filter)));
  const skippedFiles = skipIntegration ? files.filter((file) => testKind(file) !== 'unit') : [];
  if (skipIntegration) {
    files = files.filter((file) => testKind(file) === 'unit');
    console.log(`SKIP_INTEGRATION=1: skipping ${skippedFiles.length} integration/e2e file(s): ${skippedFiles.join(', ') || '(none)'}`);
  }
  if (files.length === 0) {
    console.error(filters.length > 0 ? `no test files match ${filters.join(' ')}` : 'no test files found');
    console.log('0 passed, 0 failed, 0 skipped');
    return 1;
  }

  const env: NodeJS.ProcessEnv = { ...process.env };
  const notReady = await setUp(files, env);
  if (notReady !== null) {
    console.error(notReady);
    console.log(`0 passed, ${files.length} failed, 0 skipped`);
    return 1;
  }

  const counts: Record<Kind, number> = { unit: 0, integration: 0, e2e: 0 };
  for (const file of files) counts[testKind(file)]++;
  console.log(
    `running ${files.length} test file(s): ${counts.unit} unit, ${counts.integration} integration, ${counts.e2e} e2e` +
      (env['KAFKA_BROKERS'] !== undefined ? ` (KAFKA_BROKERS=${env['KAFKA_BROKERS']} REDIS_URL=${env['REDIS_URL']})` : '') +
      (env['REDIS_CLUSTER_URL'] !== undefined ? ` (REDIS_CLUSTER_URL=${env['REDIS_CLUSTER_URL']})` : ''),
  );

  const tapDir = mkdtempSync(join(tmpdir(), 'moodstream-test-'));
  const tapFile = join(tapDir, 'report.tap');
  try {
    const code = await runNodeTest(files, env, tapFile);
    const summary = existsSync(tapFile) ? parseTapSummary(readFileSync(tapFile, 'utf8')) : null;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (summary === null) {
      console.log(`node --test exited with code ${code} before reporting totals (${seconds}s)`);
      console.log('0 passed, 1 failed, 0 skipped');
      return code === 0 ? 1 : code;
    }
    const failed = summary.failed + summary.cancelled;
    console.log(`\ntest run took ${seconds}s${skipIntegration ? ` (SKIP_INTEGRATION=1: ${skippedFiles.length} file(s) not run)` : ''}`);
    console.log(`${summary.passed} passed, ${failed} failed, ${summary.skipped + summary.todo} skipped`);
    return failed > 0 || code !== 0 ? Math.max(code, 1) : 0;
  } finally {
    rmSync(tapDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
