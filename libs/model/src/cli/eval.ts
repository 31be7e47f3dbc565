/**
 * Evaluation CLI: `npm run eval -- --model DIR [--data DIR [--sources goemotions,carer]] [--text FILE.tsv] [--images DIR] [--posts FILE.ndjson] [--json]`.
 * With --data: one row per text source (its test split when there is one, else its dev split) and their macro
 * average, with per-domain reliability-diagram data (bins of confidence vs accuracy).
 * Prints the shape of the Deep Sentiment study's Table 6.1 (guessing by priors, image only, text only,
 * fused) with accuracy, macro-F1, ECE, per-class P/R/F1 and confusion matrices.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLineOrExit } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../backend';
import { EmotionModel } from '../emotion-model';
import { ImageBackbone, type BackboneId } from '../image/backbone';
import { evaluate, type Evaluation } from '../metrics';
import { textTokens } from '../text/preprocess';
import { readImageFolder, readPostsNdjson, readTextTsv, splitImages, type ImageExample } from '../train/data';
import { existsSync } from 'node:fs';
import { reliabilityDiagram, type ReliabilityBin } from '../train/reliability';
import { FeatureCache } from '../train/feature-cache';
import { logitsOf, type LabelledRow } from '../train/trainer';
import { fetchImageBytes } from '../train/posts-images';
import { makeRng } from '../train/rng';

/** Reference numbers on the same GoEmotions ekman6 test split, measured when the model issue was filed. */
export const REFERENCE_BASELINES = [
  { name: 'logistic regression, unigram+bigram', accuracy: 0.743, macroF1: 0.596 },
  { name: 'logistic regression, class-weighted', accuracy: 0.722, macroF1: 0.604 },
  { name: 'always "happy"', accuracy: 0.554, macroF1: 0.119 },
  { name: 'LSTM(128) over frozen GloVe, 3 epochs', accuracy: 0.638, macroF1: 0.544 },
];

const { values } = parseCommandLineOrExit({
  command: 'npm run eval',
  summary: "measure a model folder: per text domain, and the Deep Sentiment study's table (priors, image only, text only, fused)",
  usage: '--model DIR [--data DIR [--sources LIST]] [--text FILE] [--images DIR] [--posts FILE] [--json]',
  options: {
    model: { type: 'string', valueName: 'DIR', required: true, description: 'the model folder to evaluate' },
    data: { type: 'string', valueName: 'DIR', description: 'shared data folder: one row per text source (its test split, else its dev split) with reliability diagrams' },
    sources: { type: 'string', valueName: 'LIST', default: 'goemotions,carer', description: 'text sources under --data (comma list)' },
    text: { type: 'string', valueName: 'FILE', description: 'a labelled TSV for the text-only row' },
    images: { type: 'string', valueName: 'DIR', description: 'image folder for the image-only and fused rows (its held-out fifth unless --all-images)' },
    'all-images': { type: 'boolean', default: false, description: 'score every image in --images, training images included' },
    posts: { type: 'string', valueName: 'FILE', description: 'labelled posts NDJSON (images fetched) for a posts row' },
    json: { type: 'boolean', default: false, description: 'print the results as JSON instead of tables' },
    cache: { type: 'string', valueName: 'DIR', default: '.cache', description: 'image feature cache' },
    seed: { type: 'number', default: 2024, description: 'seed of the synthetic image + text pairing' },
  },
  examples: ['npm run eval -- --model models/default --data ../shared/data --images ../shared/data/emotion6/images'],
  notes: 'Tables (or JSON) go to stdout, progress to stderr.',
});

const log = (m: string) => process.stderr.write(`[eval] ${m}\n`);

interface Section extends Evaluation {
  note?: string;
}

async function main(): Promise<void> {
  const backend = await initBackend();
  log(`backend: ${backend.name} (${backend.provider})`);
  const model = await EmotionModel.load(values.model);
  const summary = JSON.parse(await readFile(path.join(values.model, 'data-summary.json'), 'utf8').catch(() => '{}')) as {
    text?: { classCounts?: Record<string, number> };
    images?: { classCounts?: Record<string, number> };
  };
  const rng = makeRng(values.seed);
  const result: Record<string, unknown> = { model: model.version, modelDir: values.model, backend: backend.name, calibration: model.config.calibration };
  const rows: Array<[string, Section | null]> = [];

  const score = async (labelled: LabelledRow[]) =>
    evaluate(model.calibrate(await logitsOf(model, labelled), labelled.map((r) => r.tokens.length > 0), labelled.map((r) => r.imageFeatures !== null)), labelled.map((r) => r.label));
  const priorsEval = (counts: Record<string, number> | undefined, labels: number[]): Evaluation | null => {
    if (!counts) return null;
    const total = EMOTIONS.reduce((s, e) => s + (counts[e] ?? 0), 0);
    const prior = EMOTIONS.map((e) => (counts[e] ?? 0) / Math.max(1, total));
    return evaluate(labels.map(() => prior), labels);
  };

  const domainRows: Array<{ name: string; split: string; e: Evaluation & { reliability: ReliabilityBin[] } }> = [];
  if (values.data) {
    for (const name of values.sources!.split(',').map((n) => n.trim()).filter(Boolean)) {
      const test = path.join(values.data, name, 'ekman6_test.tsv');
      const dev = path.join(values.data, name, 'ekman6_dev.tsv');
      const file = existsSync(test) ? test : existsSync(dev) ? dev : null;
      if (!file) {
        log(`source ${name}: neither ${test} nor ${dev}; skipped`);
        continue;
      }
      const labelled = (await readTextTsv(file)).map((t) => ({ tokens: textTokens(t.text), imageFeatures: null, label: t.label }));
      const probs = model.calibrate(await logitsOf(model, labelled), labelled.map((r) => r.tokens.length > 0), labelled.map(() => false));
      const labels = labelled.map((r) => r.label);
      domainRows.push({ name, split: file === test ? 'test' : 'dev', e: { ...evaluate(probs, labels), reliability: reliabilityDiagram(probs, labels) } });
    }
    const avg = (f: (e: Evaluation) => number) => domainRows.reduce((s, d) => s + f(d.e), 0) / Math.max(1, domainRows.length);
    result.domains = Object.fromEntries(domainRows.map((d) => [d.name, { split: d.split, ...d.e }]));
    result.domainMacroAverage = { domains: domainRows.length, accuracy: avg((e) => e.accuracy), macroF1: avg((e) => e.macroF1), ece: avg((e) => e.ece) };
  }

  let textRows: LabelledRow[] = [];
  if (values.text) {
    textRows = (await readTextTsv(values.text)).map((t) => ({ tokens: textTokens(t.text), imageFeatures: null, label: t.label }));
    const text = await score(textRows);
    const priors = priorsEval(summary.text?.classCounts, textRows.map((r) => r.label));
    result.text = { ...text, file: values.text };
    result.priors = { text: priors };
    rows.push(['guessing by priors (text)', priors]);
  }

  let imageRows: LabelledRow[] = [];
  if (values.images) {
    const all = await readImageFolder(values.images);
    const chosen: ImageExample[] = values['all-images'] ? all : splitImages(all).test;
    const backbone = await ImageBackbone.load({ id: model.backboneId as BackboneId });
    const cache = new FeatureCache(path.join(values.cache!, 'features'), backbone);
    const feats = await cache.features(chosen.map((im) => ({ bytes: () => readFile(im.file) })), 'image features');
    backbone.dispose();
    imageRows = chosen.flatMap((im, i) => (feats[i] ? [{ tokens: [], imageFeatures: feats[i]!, label: im.label }] : []));
    const image = await score(imageRows);
    const note = values['all-images'] ? 'all images in the folder (includes training images!)' : 'held-out fifth (never trained on)';
    result.image = { ...image, dir: values.images, note };
    const priors = priorsEval(summary.images?.classCounts, imageRows.map((r) => r.label));
    result.priors = { ...((result.priors as Record<string, unknown> | undefined) ?? {}), image: priors };
    rows.push(['guessing by priors (image)', priors]);
    rows.push([`image only (${note})`, image]);
  }
  if (values.text) rows.push(['text only', result.text as Section]);

  if (textRows.length > 0 && imageRows.length > 0) {
    // No real image+text pairs exist in the shared data: pair each image with a random text of the same label.
    const fusedRows = imageRows.flatMap((im) => {
      const pool = textRows.filter((t) => t.label === im.label && t.tokens.length > 0);
      return pool.length === 0 ? [] : [{ tokens: pool[Math.floor(rng() * pool.length)]!.tokens, imageFeatures: im.imageFeatures, label: im.label }];
    });
    const fused = await score(fusedRows);
    const note = 'SYNTHETIC pairs: each image paired with a random text of the same label (no real image+text pairs exist in the shared data)';
    result.fused = { ...fused, note };
    rows.push(['fused (synthetic same-label pairs)', { ...fused, note }]);
    const textOfPairs = await score(fusedRows.map((r) => ({ ...r, imageFeatures: null })));
    result.fusedTextOnly = { ...textOfPairs, note: 'the same paired rows scored from their text alone' };
    rows.push(['  same pairs, text alone', textOfPairs]);
  }

  if (values.posts) {
    const { posts, skipped } = await readPostsNdjson(values.posts);
    const backbone = await ImageBackbone.load({ id: model.backboneId as BackboneId });
    const cache = new FeatureCache(path.join(values.cache!, 'features'), backbone);
    const feats = await cache.features(posts.map((p) => ({ bytes: async () => (p.imageUrl ? ((await fetchImageBytes(p.imageUrl)) ?? Buffer.alloc(0)) : Buffer.alloc(0)) })), 'post images');
    backbone.dispose();
    const postRows = posts.map((p, i) => ({ tokens: textTokens(p.text), imageFeatures: feats[i] ?? null, label: EMOTIONS.indexOf(p.label) }));
    const evaluation = await score(postRows);
    result.posts = { ...evaluation, skipped, withImage: postRows.filter((r) => r.imageFeatures).length, note: 'real labelled posts (self-reported emotion tags)' };
    rows.push(['posts (real pairs where an image exists)', result.posts as Section]);
  }
  result.referenceBaselines = { split: 'GoEmotions ekman6 test', rows: REFERENCE_BASELINES };
  model.dispose();

  if (values.json) {
    // text, image and fused are always present so consumers can read n/accuracy/macroF1 without guessing.
    for (const [key, flag] of [['text', '--text'], ['image', '--images'], ['fused', '--text and --images']] as const) {
      result[key] ??= { n: 0, accuracy: null, macroF1: null, note: `not evaluated: pass ${flag}` };
    }
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    return;
  }
  const out: string[] = [];
  const cal = model.config.calibration;
  out.push(`Deep Sentiment model ${model.version} — backend ${backend.name}; temperatures text ${cal.temperature.toFixed(3)} image ${(cal.imageTemperature ?? cal.temperature).toFixed(3)} both ${(cal.bothTemperature ?? cal.temperature).toFixed(3)}`);
  if (domainRows.length > 0) {
    out.push('');
    out.push('Per text domain (test split where there is one, else dev; macro-F1 over the classes present)');
    out.push(`${'source'.padEnd(22)}${'split'.padStart(6)}${'n'.padStart(7)}${'accuracy'.padStart(10)}${'macro-F1'.padStart(10)}${'ECE'.padStart(8)}`);
    for (const d of domainRows) out.push(`${d.name.padEnd(22)}${d.split.padStart(6)}${String(d.e.n).padStart(7)}${d.e.accuracy.toFixed(3).padStart(10)}${d.e.macroF1.toFixed(3).padStart(10)}${d.e.ece.toFixed(3).padStart(8)}`);
    const m = result.domainMacroAverage as { accuracy: number; macroF1: number; ece: number };
    out.push(`${'macro average'.padEnd(22)}${''.padStart(6)}${''.padStart(7)}${m.accuracy.toFixed(3).padStart(10)}${m.macroF1.toFixed(3).padStart(10)}${m.ece.toFixed(3).padStart(8)}`);
    out.push('Reliability diagrams (confidence bin: n, mean confidence → accuracy):');
    for (const d of domainRows) {
      const bins = d.e.reliability.filter((b) => b.n > 0).map((b) => `${b.from.toFixed(1)}-${b.to.toFixed(1)}: ${b.n} ${b.confidence!.toFixed(2)}→${b.accuracy!.toFixed(2)}`);
      out.push(`  ${d.name}: ${bins.join(' | ')}`);
    }
  }
  if (rows.length > 0) {
    out.push('');
    out.push("Table 6.1 shape (Deep Sentiment study): test results");
    out.push(`${'row'.padEnd(58)}${'n'.padStart(6)}${'accuracy'.padStart(10)}${'macro-F1'.padStart(10)}${'ECE'.padStart(8)}`);
    for (const [name, e] of rows) {
      if (!e) continue;
      out.push(`${name.padEnd(58)}${String(e.n).padStart(6)}${e.accuracy.toFixed(3).padStart(10)}${e.macroF1.toFixed(3).padStart(10)}${e.ece.toFixed(3).padStart(8)}`);
    }
  }
  out.push('');
  out.push('Reference baselines on the same GoEmotions test split (measured when the issue was filed, not re-run here):');
  for (const b of REFERENCE_BASELINES) out.push(`  ${b.name.padEnd(56)}${'-'.padStart(6)}${b.accuracy.toFixed(3).padStart(10)}${b.macroF1.toFixed(3).padStart(10)}`);
  for (const key of ['text', 'image', 'fused', 'posts'] as const) {
    const e = result[key] as Section | undefined;
    if (!e) continue;
    out.push('');
    out.push(`== ${key}${e.note ? ` — ${e.note}` : ''}`);
    out.push(`${'class'.padEnd(12)}${'precision'.padStart(10)}${'recall'.padStart(8)}${'F1'.padStart(8)}${'support'.padStart(9)}`);
    for (const c of e.perClass) out.push(`${c.label.padEnd(12)}${c.precision.toFixed(3).padStart(10)}${c.recall.toFixed(3).padStart(8)}${c.f1.toFixed(3).padStart(8)}${String(c.support).padStart(9)}`);
    out.push(`confusion (rows true, columns predicted: ${EMOTIONS.map((l) => l.slice(0, 5)).join(' ')})`);
    e.confusion.forEach((row, i) => out.push(`  ${EMOTIONS[i]!.padEnd(10)}${row.map((v) => String(v).padStart(6)).join('')}`));
  }
  process.stdout.write(out.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`[eval] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
