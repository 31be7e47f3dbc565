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
import { parseArgs } from 'node:util';
import { initBackend } from '../backend';
import { EmotionModel } from '../emotion-model';
import { DEFAULT_MODEL_DIR } from '../paths';
import { ModelRegistry } from '../registry/model-registry';
import { writeRegistryCard } from '../registry/registry-card';
import { readPostsNdjson } from '../train/data';
import { learnOnce, type FixedSource } from '../train/learn-loop';
import { loadTsvSource } from '../train/text-sources';
import { numberFlag } from './args';

const { values } = parseArgs({
  strict: false,
  options: {
    posts: { type: 'string' },
    registry: { type: 'string', default: 'models/registry' },
    base: { type: 'string' },
    data: { type: 'string', default: '../shared/data' },
    replay: { type: 'string', default: 'goemotions' },
    guard: { type: 'string', default: 'carer' },
    recent: { type: 'string' },
    margin: { type: 'string' },
    epochs: { type: 'string' },
    'evals-per-epoch': { type: 'string' },
    'learning-rate': { type: 'string' },
    'replay-size': { type: 'string' },
    'max-train-posts': { type: 'string' },
    'selection-rows': { type: 'string' },
    'max-seconds': { type: 'string' },
    'grow-ngrams': { type: 'string' },
    anchor: { type: 'string' },
    'shuffle-labels': { type: 'boolean', default: false },
    'no-promote': { type: 'boolean', default: false },
    version: { type: 'string' },
    report: { type: 'string' },
    seed: { type: 'string' },
  },
});
const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
const log = (m: string) => process.stderr.write(`[learn] ${m}\n`);

async function main(): Promise<void> {
  const postsFile = str('posts');
  if (!postsFile) throw new Error('--posts FILE.ndjson (labelled posts the ingester recorded) is required');
  const backend = await initBackend();
  log(`backend: ${backend.name}`);
  const registry = new ModelRegistry(str('registry')!);
  const currentDir = str('base') ?? (await registry.currentDir(DEFAULT_MODEL_DIR));
  const current = await EmotionModel.load(currentDir, { warmUp: false });
  log(`current model: ${current.version} (${currentDir})`);
  const { posts, skipped } = await readPostsNdjson(postsFile);
  log(`labelled posts: ${posts.length} (${skipped} unlabelled or malformed lines skipped)`);
  const load = async (names: string | undefined, offset: number): Promise<FixedSource[]> => {
    const out: FixedSource[] = [];
    for (const name of (names ?? '').split(',').map((n) => n.trim()).filter(Boolean)) {
      const s = await loadTsvSource(str('data')!, name, 1, offset + out.length);
      if (s) out.push({ name, train: s.train, dev: s.dev });
      else log(`fixed source ${name}: not found under ${str('data')}; skipped`);
    }
    return out;
  };
  const replay = await load(str('replay'), 1);
  const guard = await load(str('guard'), 1 + replay.length);
  const perSlice: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (k.startsWith('margin-') && typeof v === 'string') perSlice[k.slice('margin-'.length)] = Number(v);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 13);
  const version = str('version') ?? `learn-${stamp}${values['shuffle-labels'] ? '-shuffled' : ''}`;
  const { candidate, report } = await learnOnce(current, posts, replay, {
    version,
    guardOnly: guard,
    ...(str('recent') ? { recent: numberFlag(values, 'recent', 10_000) } : {}),
    replayPerSource: numberFlag(values, 'replay-size', 10_000),
    ...(str('max-train-posts') ? { maxTrainPosts: numberFlag(values, 'max-train-posts', Infinity) } : {}),
    ...(str('selection-rows') ? { selectionRowsPerSlice: numberFlag(values, 'selection-rows', Infinity) } : {}),
    growNgrams: numberFlag(values, 'grow-ngrams', 0),
    anchor: numberFlag(values, 'anchor', 0),
    epochs: numberFlag(values, 'epochs', 1),
    evalsPerEpoch: numberFlag(values, 'evals-per-epoch', 3),
    learningRate: numberFlag(values, 'learning-rate', 0.0005),
    margins: { default: numberFlag(values, 'margin', 0.01), perSlice },
    shuffleLabels: values['shuffle-labels'] === true,
    seed: numberFlag(values, 'seed', 1234),
    ...(str('max-seconds') ? { maxSeconds: numberFlag(values, 'max-seconds', Infinity) } : {}),
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
  const reportFile = str('report');
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
