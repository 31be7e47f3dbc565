/**
 * The self-labelling loop, one turn: `npm run learn -- --posts FILE.ndjson [--registry models/registry] [--data ../shared/data]`.
 * Fine-tunes the registry's current model (models/default when nothing is promoted yet) on the newest labelled
 * posts the ingester recorded plus a replay sample of the fixed sets, stores the candidate as
 * `<registry>/<version>/` (card, metrics, learn-report.json), and moves the registry's CURRENT pointer to it only
 * when it is no worse than the current model on the time-held-out newest posts and on every fixed dev split.
 * Options: --replay goemotions (replayed and guarded), --guard carer (guarded only), --recent 10000, --margin 0.01,
 * --margin-<slice> N, --epochs 1, --learning-rate 5e-4, --replay-size 10000, --shuffle-labels (a bad candidate on purpose),
 * --grow-ngrams N (add the posts' frequent n-grams the model lacks), --anchor X (L2 pull towards the current weights),
 * --no-promote, --version NAME, --report FILE.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLineOrExit } from '@moodstream/core';
import { initBackend } from '../backend';
import { EmotionModel } from '../emotion-model';
import { DEFAULT_MODEL_DIR } from '../paths';
import { ModelRegistry } from '../registry/model-registry';
import { writeRegistryCard } from '../registry/registry-card';
import { readPostsNdjson } from '../train/data';
import { learnOnce, type FixedSource } from '../train/learn-loop';
import { loadTsvSource } from '../train/text-sources';

const { values, prefixed } = parseCommandLineOrExit({
  command: 'npm run learn',
  summary: "one turn of the self-labelling loop: fine-tune the registry's current model on recorded labelled posts, store the candidate, promote it only if it is no worse",
  usage: '--posts FILE [--registry DIR] [--data DIR] [options]',
  options: {
    posts: { type: 'string', valueName: 'FILE', required: true, description: "labelled posts NDJSON the ingester recorded (--record); its newest posts are the held-out slice" },
    registry: { type: 'string', valueName: 'DIR', default: 'models/registry', description: 'the model registry: candidates are stored here and CURRENT points at the promoted one' },
    base: { type: 'string', valueName: 'DIR', description: "start from this model folder instead of the registry's current model" },
    data: { type: 'string', valueName: 'DIR', default: '../shared/data', description: 'shared data folder of the fixed text sources' },
    replay: { type: 'string', valueName: 'LIST', default: 'goemotions', description: 'fixed sources replayed in training and guarded (comma list)' },
    guard: { type: 'string', valueName: 'LIST', default: 'carer', description: 'fixed sources only guarded: the candidate must be no worse on their dev split' },
    recent: { type: 'number', description: 'use only the newest N labelled posts (default all)' },
    margin: { type: 'number', default: 0.01, description: 'macro-F1 a slice may lose and still pass' },
    epochs: { type: 'number', default: 1, description: 'fine-tune epochs' },
    'evals-per-epoch': { type: 'number', default: 3, description: 'selection points per epoch' },
    'learning-rate': { type: 'number', default: 0.0005, description: 'Adam learning rate' },
    'replay-size': { type: 'number', default: 10000, description: 'rows replayed per fixed source' },
    'max-train-posts': { type: 'number', description: 'at most N posts in training (default all)' },
    'selection-rows': { type: 'number', description: 'at most N rows per slice for model selection (default all)' },
    'max-seconds': { type: 'number', description: 'stop training after this many seconds (default no limit)' },
    'grow-ngrams': { type: 'number', default: 0, description: "add the posts' N most frequent n-grams the model lacks" },
    anchor: { type: 'number', default: 0, description: 'L2 pull towards the current weights' },
    'shuffle-labels': { type: 'boolean', default: false, description: 'shuffle the post labels: a bad candidate on purpose, to see the guard refuse it' },
    'no-promote': { type: 'boolean', default: false, description: 'store the candidate but never promote it' },
    version: { type: 'string', valueName: 'NAME', description: 'candidate version (default learn-<time>)' },
    report: { type: 'string', valueName: 'FILE', description: 'also write the decision report (JSON) here' },
    seed: { type: 'number', default: 1234, description: 'random seed' },
  },
  prefixed: { prefix: 'margin-', suffixName: 'SLICE', description: 'the margin of one slice (posts, goemotions, carer, ...), overriding --margin' },
  examples: ['npm run learn -- --posts .data/recorded.ndjson --registry models/registry'],
  notes: 'The verdict table goes to stdout, progress to stderr.',
});
const log = (m: string) => process.stderr.write(`[learn] ${m}\n`);

async function main(): Promise<void> {
  const postsFile = values.posts;
  const backend = await initBackend();
  log(`backend: ${backend.name}`);
  const registry = new ModelRegistry(values.registry);
  const currentDir = values.base ?? (await registry.currentDir(DEFAULT_MODEL_DIR));
  const current = await EmotionModel.load(currentDir, { warmUp: false });
  log(`current model: ${current.version} (${currentDir})`);
  const { posts, skipped } = await readPostsNdjson(postsFile);
  log(`labelled posts: ${posts.length} (${skipped} unlabelled or malformed lines skipped)`);
  const load = async (names: string | undefined, offset: number): Promise<FixedSource[]> => {
    const out: FixedSource[] = [];
    for (const name of (names ?? '').split(',').map((n) => n.trim()).filter(Boolean)) {
      const s = await loadTsvSource(values.data, name, 1, offset + out.length);
      if (s) out.push({ name, train: s.train, dev: s.dev });
      else log(`fixed source ${name}: not found under ${values.data}; skipped`);
    }
    return out;
  };
  const replay = await load(values.replay, 1);
  const guard = await load(values.guard, 1 + replay.length);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 13);
  const version = values.version ?? `learn-${stamp}${values['shuffle-labels'] ? '-shuffled' : ''}`;
  const { candidate, report } = await learnOnce(current, posts, replay, {
    version,
    guardOnly: guard,
    ...(values.recent !== undefined ? { recent: values.recent } : {}),
    replayPerSource: values['replay-size'],
    ...(values['max-train-posts'] !== undefined ? { maxTrainPosts: values['max-train-posts'] } : {}),
    ...(values['selection-rows'] !== undefined ? { selectionRowsPerSlice: values['selection-rows'] } : {}),
    growNgrams: values['grow-ngrams'],
    anchor: values.anchor,
    epochs: values.epochs,
    evalsPerEpoch: values['evals-per-epoch'],
    learningRate: values['learning-rate'],
    margins: { default: values.margin, perSlice: prefixed },
    shuffleLabels: values['shuffle-labels'] === true,
    seed: values.seed,
    ...(values['max-seconds'] !== undefined ? { maxSeconds: values['max-seconds'] } : {}),
    log,
  });
  // Stored whatever the verdict: a refused candidate stays inspectable, it just never becomes CURRENT.
  const staging = path.join(registry.root, `.staging-${version}`);
  await candidate.save(staging);
  await writeFile(path.join(staging, 'metrics.json'), JSON.stringify({ backend: backend.name, ...report }, null, 2) + '\n');
  const promote = report.decision.promote && values['no-promote'] !== true;
  await writeRegistryCard(staging, report, promote);
  const dir = await registry.add(version, staging);
  await rm(staging, { recursive: true, force: true });
  if (promote) {
    const pointer = await registry.promote(version, `learn: no worse on ${report.decision.verdicts.map((v) => v.slice).join(', ')}`);
    log(`promoted ${version} (previous: ${pointer.previous ?? 'none — the shipped default'})`);
  } else log(`${version} stored at ${dir}, not promoted`);
  const reportFile = values.report;
  if (reportFile) {
    if (!existsSync(path.dirname(reportFile))) await mkdir(path.dirname(reportFile), { recursive: true });
    await writeFile(reportFile, JSON.stringify({ ...report, promoted: promote, history: undefined }, null, 2) + '\n');
  }
  process.stdout.write(
    [
      `learn ${version} from ${current.version}: ${promote ? 'PROMOTED' : 'NOT PROMOTED'}`,
      `${'slice'.padEnd(20)}${'n'.padStart(6)}${'current F1'.padStart(12)}${'cand. F1'.padStart(10)}${'Δ F1'.padStart(8)}${'cur. acc'.padStart(10)}${'cand. acc'.padStart(11)}  verdict`,
      ...report.decision.verdicts.map(
        (v) =>
          `${v.slice.padEnd(20)}${String(v.current.n).padStart(6)}${v.current.macroF1.toFixed(3).padStart(12)}${v.candidate.macroF1.toFixed(3).padStart(10)}${((v.deltaMacroF1 >= 0 ? '+' : '') + v.deltaMacroF1.toFixed(3)).padStart(8)}${v.current.accuracy.toFixed(3).padStart(10)}${v.candidate.accuracy.toFixed(3).padStart(11)}  ${v.pass ? 'ok' : `worse (margin ${v.margin})`}`,
      ),
    ].join('\n') + '\n',
  );
  candidate.dispose();
  current.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`[learn] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
