/**
 * The self-labelling loop end to end, without a Tumblr key (`node --import tsx bench/learn-demo.ts`):
 *  1. the Tumblr stand-in serves self-labelled posts built at run time from ../shared/data/carer/ekman6_train.tsv
 *     (never copied into the project): tags as people write them, sometimes the tag repeated in the text;
 *  2. the real ingester backfills the five emotion tags CARER has through Kafka and records what it produced
 *     (`--record`: label from the tags, label hashtags removed from the text, as for real posts);
 *  3. `npm run learn` fine-tunes the GoEmotions-only model (--base) on the newest 10,000 recorded posts + a replay
 *     sample of GoEmotions, gated on the newest posts held out by time, GoEmotions dev and CARER dev;
 *  4. a second turn trains on SHUFFLED labels from the promoted model: the gate must refuse it.
 * Writes bench/results/learn-loop.json (both reports). Needs KAFKA_BROKERS (npm run services:up). CPU-heavy: run under nice.
 * Options: --base DIR (default models/default), --posts N (default 11000), --registry DIR (default a temp folder),
 * --replay-size N, --max-train-posts N, --selection-rows N (cost bounds of a turn), --epochs N, --learning-rate R,
 * --evals-per-epoch N (the good turn's training), --shuffled-train-posts N (the shuffled turn only has to be refused, so
 * it may train on fewer posts), --skip-shuffled.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaBus } from '@moodstream/bus';
import { createLogger, parseCommandLineOrExit, seededRandom, splitList } from '@moodstream/core';
import { TOPICS } from '@moodstream/events';
import { readLabelledTexts, selfLabelledPosts, startTumblrStandIn, STANDIN_DEFAULT_KEY } from '@moodstream/tumblr';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// The learn flags are passed through to npm run learn as given (strings), which checks them.
const { values } = parseCommandLineOrExit({
  command: 'node --import tsx bench/learn-demo.ts',
  summary: 'the self-labelling loop end to end without a Tumblr key: stand-in, ingester backfill, a learn turn that should be promoted, a shuffled-label turn that must be refused (bench/results/learn-loop.json)',
  options: {
    base: { type: 'string', valueName: 'DIR', default: path.join(ROOT, 'models', 'default'), description: 'the model the first turn starts from' },
    posts: { type: 'number', default: 11000, integer: true, positive: true, description: 'self-labelled posts the stand-in serves (from CARER train)' },
    registry: { type: 'string', valueName: 'DIR', description: 'the model registry (default a temporary folder)' },
    data: { type: 'string', valueName: 'DIR', default: path.join(ROOT, '..', 'shared', 'data'), description: 'shared data folder' },
    'replay-size': { type: 'string', valueName: 'N', default: '1000', description: 'learn --replay-size' },
    // A turn's cost bounds (a heavily shared 2-core machine): train on a sample of the recent posts, select on part of each slice.
    'max-train-posts': { type: 'string', valueName: 'N', default: '2000', description: 'learn --max-train-posts (a cost bound of a turn)' },
    'selection-rows': { type: 'string', valueName: 'N', default: '800', description: 'learn --selection-rows (a cost bound of a turn)' },
    epochs: { type: 'string', valueName: 'N', default: '1', description: "learn --epochs (the good turn's training)" },
    'learning-rate': { type: 'string', valueName: 'R', default: '0.0005', description: "learn --learning-rate (the good turn's training)" },
    'evals-per-epoch': { type: 'string', valueName: 'N', default: '1', description: "learn --evals-per-epoch (the good turn's training)" },
    // Against the two limits of a warm start (docs/model.md): n-grams of the new domain, forgetting of the old.
    'grow-ngrams': { type: 'string', valueName: 'N', default: '0', description: 'learn --grow-ngrams' },
    anchor: { type: 'string', valueName: 'X', default: '0', description: 'learn --anchor' },
    'max-seconds': { type: 'string', valueName: 'N', description: 'learn --max-seconds for the good turn' },
    'shuffled-train-posts': { type: 'string', valueName: 'N', description: 'learn --max-train-posts of the shuffled turn (it only has to be refused; default as the good turn)' },
    'skip-shuffled': { type: 'boolean', default: false, description: 'skip the shuffled-label turn' },
  },
  notes: 'Needs KAFKA_BROKERS (npm run services:up). CPU-heavy: run it under nice.',
});
const log = (m: string) => process.stderr.write(`[learn-demo] ${m}\n`);

async function run(args: string[], env: Record<string, string> = {}): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code ?? 1;
}

/** The demo's posts topic is its own (a unique prefix): removed once the posts are recorded. */
async function deleteDemoTopics(prefix: string): Promise<void> {
  const bus = createKafkaBus({ brokers: splitList(process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092'), clientId: 'learn-demo', topicPrefix: prefix, logger: createLogger('learn-demo', { level: 'warn' }) });
  await bus.deleteTopics([TOPICS.posts, TOPICS.deadLetter]).catch(() => undefined);
  await bus.close();
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'learn-demo-'));
  const registry = values.registry ?? path.join(work, 'registry');
  const rows = await readLabelledTexts(path.join(values.data!, 'carer', 'ekman6_train.tsv'));
  // A seeded shuffle: the stream's order (its time) is unrelated to the file's order.
  const random = seededRandom(2026);
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  const chosen = rows.slice(0, values.posts);
  const newest = Math.floor(Date.now() / 1000) - 60;
  const { posts } = selfLabelledPosts(chosen, { newestTimestamp: newest, spacingSeconds: 2 });
  const standIn = await startTumblrStandIn({ posts, behaviours: { limits: { perHour: 1_000_000, perDay: 1_000_000, perMinute: 1_000_000 } } });
  log(`stand-in on ${standIn.url}: ${posts.length} self-labelled posts from CARER train texts`);
  const recorded = path.join(work, 'recorded.ndjson');
  const from = new Date((newest - posts.length * 2 - 60) * 1000).toISOString();
  const to = new Date((newest + 1) * 1000).toISOString();
  const started = Date.now();
  const prefix = `learn-demo-${process.pid}.`;
  const code = await run(['apps/ingester/src/main.ts', 'backfill', '--tag', 'happy,sad,angry,scared,surprised', '--from', from, '--to', to, '--record', recorded], {
    TUMBLR_API_URL: standIn.url,
    TUMBLR_API_KEY: STANDIN_DEFAULT_KEY,
    MOODSTREAM_TOPIC_PREFIX: prefix,
    INGEST_STORE: 'memory',
    INGEST_MIN_ENGLISH_WORDS: '3',
    INGEST_BUDGET_PER_MINUTE: '100000',
    INGEST_BUDGET_PER_HOUR: '1000000',
    INGEST_BUDGET_PER_DAY: '1000000',
    METRICS_PORT: '0',
  });
  await standIn.close();
  await deleteDemoTopics(prefix);
  if (code !== 0) throw new Error(`the ingester exited ${code}`);
  const lines = (await readFile(recorded, 'utf8')).split('\n').filter((l) => l.trim() !== '').length;
  log(`ingester recorded ${lines} posts in ${((Date.now() - started) / 1000).toFixed(0)} s (${posts.length - lines} skipped by its filters)`);

  const good = path.join(work, 'good.json');
  const bad = path.join(work, 'bad.json');
  const common = ['--posts', recorded, '--registry', registry, '--data', values.data!, '--recent', '10000', '--replay-size', values['replay-size']!, '--selection-rows', values['selection-rows']!];
  const training = ['--epochs', values.epochs!, '--learning-rate', values['learning-rate']!, '--evals-per-epoch', values['evals-per-epoch']!, '--grow-ngrams', values['grow-ngrams']!, '--anchor', values.anchor!, ...(values['max-seconds'] ? ['--max-seconds', values['max-seconds']] : [])];
  const goodArgs = [...common, ...training, '--max-train-posts', values['max-train-posts']!];
  const badArgs = [...common, '--evals-per-epoch', '1', '--max-train-posts', values['shuffled-train-posts'] ?? values['max-train-posts']!];
  log(`good turn: ${goodArgs.slice(6).join(' ')}`);
  if ((await run(['libs/model/src/cli/learn.ts', ...goodArgs, '--base', values.base!, '--version', 'learn-demo-carer', '--report', good])) !== 0) throw new Error('learn failed');
  // The second turn starts from whatever the registry now serves (the promoted version, if it was promoted).
  if (!values['skip-shuffled'] && (await run(['libs/model/src/cli/learn.ts', ...badArgs, '--shuffle-labels', '--version', 'learn-demo-shuffled', '--report', bad])) !== 0) throw new Error('learn (shuffled) failed');
  const result = {
    note: 'CARER train texts served as self-labelled stand-in posts, recorded by the real ingester, learnt by npm run learn; shared machine (2 cores, heavily loaded): times are noisy',
    streamPosts: posts.length,
    recorded: lines,
    goodTurn: goodArgs.slice(6),
    shuffledTurn: values['skip-shuffled'] ? null : badArgs.slice(6),
    good: JSON.parse(await readFile(good, 'utf8')) as unknown,
    shuffled: values['skip-shuffled'] ? null : (JSON.parse(await readFile(bad, 'utf8')) as unknown),
  };
  await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(path.join(ROOT, 'bench', 'results', 'learn-loop.json'), JSON.stringify(result, null, 2) + '\n');
  log(`wrote bench/results/learn-loop.json; registry at ${registry}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[learn-demo] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
