/**
 * Image backbone variants on held-out Emotion6 (not a test: it reads ../shared/data). Not part of `npm test`.
 *
 *   node --import tsx bench/backbone-variants.ts [--images ../shared/data/emotion6/images] [--int8 FILE]
 *        [--model DIR] [--limit N] [--variants tfjs,float,int8] [--dry-run]
 *
 * For each variant — tfjs (wasm, the reference), ONNX float (models/backbone), ONNX int8 (a file written by
 * `npm run model:export-backbone -- --int8 ...`, when given) — on the held-out fifth of Emotion6 (the split
 * `npm run eval` uses): image-only top-1 of the shipped model, feature cosine to tfjs, image predictions and
 * explicit verdicts (≥ 0.5, the dashboard's default) that differ from tfjs, and backbone images/s at batch 32
 * (1 and 2 intra-op threads) measured in the same run. The shipped default is the fastest variant losing
 * ≤ 1 point of top-1. Writes bench/results/backbone-variants.json.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLineOrExit } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { DEFAULT_MODEL_DIR, EmotionScorer, cosineSimilarity as cosine, ImageBackbone, backboneOnnxFile, initBackend, preprocessImage, readImageFolder, splitImages } from '@moodstream/model';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseCommandLineOrExit({
  command: 'node --import tsx bench/backbone-variants.ts',
  summary: 'image backbone variants (tfjs, ONNX float, ONNX int8) on held-out Emotion6: top-1, feature cosine and changed verdicts against the first, images/s (bench/results/backbone-variants.json)',
  options: {
    images: { type: 'string', valueName: 'DIR', default: path.join(ROOT, '..', 'shared', 'data', 'emotion6', 'images'), description: 'Emotion6 images (its held-out fifth is used)' },
    int8: { type: 'string', valueName: 'FILE', description: 'an int8 ONNX file (npm run model:export-backbone -- --int8 ...)' },
    model: { type: 'string', valueName: 'DIR', default: DEFAULT_MODEL_DIR, description: 'the model whose image-only top-1 is measured' },
    limit: { type: 'number', integer: true, positive: true, description: 'first N held-out images only' },
    // Which variants, first = reference for cosines and changes (tfjs is slow on a loaded machine; float equals it).
    variants: { type: 'string', valueName: 'LIST', default: 'tfjs,float,int8', description: 'variants to run (comma list); the first is the reference' },
    'dry-run': { type: 'boolean', default: false, description: 'print the table, write no JSON' },
  },
});
const EXPLICIT_THRESHOLD = 0.5;
const BATCH = 32;
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

async function embedAll(backbone: ImageBackbone, pixels: Uint8Array[]): Promise<{ features: Float32Array[]; explicit: number[] }> {
  const features: Float32Array[] = [];
  const explicit: number[] = [];
  for (let i = 0; i < pixels.length; i += BATCH) {
    const out = await backbone.embed(pixels.slice(i, i + BATCH));
    features.push(...out.features);
    explicit.push(...out.explicit);
  }
  return { features, explicit };
}

/** Backbone alone, batch 32, median of 3 rounds after a warm-up. */
async function speed(backbone: ImageBackbone, pixels: Uint8Array[]): Promise<number> {
  const batch = pixels.slice(0, BATCH);
  await backbone.embed(batch);
  const rates: number[] = [];
  for (let r = 0; r < 3; r++) {
    const start = performance.now();
    await backbone.embed(batch);
    rates.push(batch.length / ((performance.now() - start) / 1000));
  }
  return round(rates.sort((a, b) => a - b)[1]!);
}

async function main(): Promise<void> {
  if (!existsSync(args.images!)) throw new Error(`no images at ${args.images} (pass --images DIR)`);
  await initBackend({ prefer: 'wasm' });
  let heldOut = splitImages(await readImageFolder(args.images!)).test;
  if (args.limit !== undefined) heldOut = heldOut.slice(0, args.limit);
  const scorer = await EmotionScorer.load({ modelDir: args.model!, images: false });
  const pixels = await Promise.all(heldOut.map(async (im) => preprocessImage(await readFile(im.file), scorer.inputSize)));
  process.stderr.write(`held-out images: ${pixels.length}\n`);

  const known: Record<string, { name: string; options: Parameters<typeof ImageBackbone.load>[0] }> = {
    tfjs: { name: 'tfjs wasm', options: { runtime: 'tfjs' } },
    float: { name: 'onnx float', options: { runtime: 'onnx', onnxFile: backboneOnnxFile('mobilenet_v2_mid') } },
    ...(args.int8 ? { int8: { name: 'onnx int8', options: { runtime: 'onnx' as const, onnxFile: path.resolve(args.int8) } } } : {}),
  };
  const variants = args.variants!.split(',').flatMap((v) => (known[v] ? [known[v]] : []));
  const rows = [];
  let reference: { features: Float32Array[]; explicit: number[]; top: string[] } | null = null;
  for (const variant of variants) {
    const backbone = await ImageBackbone.load({ ...variant.options, onnxThreads: 1 });
    const embedded = await embedAll(backbone, pixels);
    const imagesPerSecond1 = await speed(backbone, pixels);
    backbone.dispose();
    let imagesPerSecond2: number | null = null;
    if (variant.options?.runtime === 'onnx') {
      const two = await ImageBackbone.load({ ...variant.options, onnxThreads: 2 });
      imagesPerSecond2 = await speed(two, pixels);
      two.dispose();
    }
    const scores = await scorer.score(embedded.features.map((features) => ({ text: '', imageFeatures: features })));
    const top = scores.map((s) => s.topEmotion);
    const correct = top.filter((t, i) => EMOTIONS.indexOf(t) === heldOut[i]!.label).length;
    reference ??= { ...embedded, top };
    const cosines = embedded.features.map((f, i) => cosine(f, reference!.features[i]!));
    rows.push({
      variant: variant.name,
      top1: round((100 * correct) / pixels.length, 2),
      minCosineToReference: Number(Math.min(...cosines).toFixed(6)),
      meanCosineToReference: Number((cosines.reduce((a, b) => a + b, 0) / cosines.length).toFixed(6)),
      predictionsChanged: top.filter((t, i) => t !== reference!.top[i]).length,
      explicitVerdictsChanged: embedded.explicit.filter((e, i) => e >= EXPLICIT_THRESHOLD !== reference!.explicit[i]! >= EXPLICIT_THRESHOLD).length,
      imagesPerSecond1Thread: imagesPerSecond1,
      imagesPerSecond2Threads: imagesPerSecond2,
    });
    process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
  }
  scorer.dispose();

  const float = rows.find((r) => r.variant === 'onnx float')!;
  const eligible = rows.filter((r) => r.variant !== 'tfjs wasm' && float.top1 - r.top1 <= 1);
  const fastest = eligible.reduce((a, b) => ((b.imagesPerSecond2Threads ?? 0) > (a.imagesPerSecond2Threads ?? 0) ? b : a), float);
  const result = {
    generatedAt: new Date().toISOString(),
    loadAverage1m: round(loadavg()[0] ?? 0, 2),
    heldOutImages: pixels.length,
    reference: rows[0]?.variant,
    modelDir: path.relative(ROOT, args.model!) || args.model,
    explicitThreshold: EXPLICIT_THRESHOLD,
    rows,
    chosenDefault: fastest.variant,
    rule: 'fastest variant whose held-out image top-1 is within 1 point of the float export',
  };
  console.log(`reference for cosines and changes: ${rows[0]?.variant}`);
  console.log('| variant | top-1 % | min / mean cosine to reference | predictions changed | explicit verdicts changed | img/s 1 thread | img/s 2 threads |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.variant} | ${r.top1} | ${r.minCosineToReference} / ${r.meanCosineToReference} | ${r.predictionsChanged} | ${r.explicitVerdictsChanged} | ${r.imagesPerSecond1Thread} | ${r.imagesPerSecond2Threads ?? '–'} |`);
  console.log(`chosen default: ${result.chosenDefault} (${result.rule}); load average ${result.loadAverage1m}`);
  if (!args['dry-run']) {
    const file = path.join(ROOT, 'bench', 'results', 'backbone-variants.json');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(result, null, 2) + '\n');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
