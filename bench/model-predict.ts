/**
 * Model predict throughput (batch 32, wasm unless a native backend is installed). Not part of `npm test`.
 *
 *   node --import tsx bench/model-predict.ts [--model DIR] [--rounds 15]
 *
 * Rows (medians over rounds, posts/s): text-only posts; image posts through the fused model with
 * features already computed; image posts end to end (sharp decode + backbone + fused model). The
 * baseline measured in the same run is the text-only row; other rows give their ratio to it.
 * Texts: GoEmotions test texts when ../shared/data is present, else generated sentences.
 * Images: distinct generated 640×480 JPEGs. Writes bench/results/model-predict.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLineOrExit } from '@moodstream/core';
import sharp from 'sharp';
import { DEFAULT_MODEL_DIR, EmotionModel, ImageBackbone, initBackend, preprocessImage, type BackboneId } from '@moodstream/model';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseCommandLineOrExit({
  command: 'node --import tsx bench/model-predict.ts',
  summary: 'model predict throughput at batch 32: text-only posts (the baseline), image posts with features computed, image posts end to end (bench/results/model-predict.json)',
  options: {
    model: { type: 'string', valueName: 'DIR', default: DEFAULT_MODEL_DIR, description: 'the model folder' },
    rounds: { type: 'number', default: 15, integer: true, positive: true, description: 'rounds per row (medians are quoted)' },
  },
});
const BATCH = 32;
const rounds = values.rounds;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function texts(): string[] {
  const file = path.join(ROOT, '..', 'shared', 'data', 'goemotions', 'ekman6_test.tsv');
  if (existsSync(file)) return readFileSync(file, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.slice(0, l.lastIndexOf('\t')));
  const words = ['today', 'was', 'really', 'great', 'awful', 'my', 'cat', 'friends', 'so', 'happy', 'scary', 'movie', 'lol', 'wow'];
  return Array.from({ length: 2000 }, (_, i) => Array.from({ length: 5 + (i % 20) }, (__, j) => words[(i * 7 + j * 3) % words.length]).join(' '));
}

async function jpeg(i: number): Promise<Buffer> {
  const w = 640;
  const h = 480;
  const raw = Buffer.alloc(w * h * 3);
  for (let p = 0; p < w * h; p++) {
    const x = p % w;
    const y = Math.floor(p / w);
    raw[p * 3] = (x * (i + 3)) & 255;
    raw[p * 3 + 1] = (y * (i + 5)) & 255;
    raw[p * 3 + 2] = ((x ^ y) * (i + 1)) & 255;
  }
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const model = await EmotionModel.load(values.model!);
  const backbone = await ImageBackbone.load({ id: model.backboneId as BackboneId });
  const pool = texts();
  const images = await Promise.all(Array.from({ length: BATCH }, (_, i) => jpeg(i)));
  const pixels = await Promise.all(images.map((b) => preprocessImage(b, backbone.inputSize)));
  const { features } = await backbone.embed(pixels);
  const batchTexts = (r: number) => Array.from({ length: BATCH }, (_, i) => pool[(r * BATCH + i) % pool.length]!);

  await model.predict(batchTexts(0).map((text) => ({ text }))); // warm-up
  const textMs: number[] = [];
  const fusedMs: number[] = [];
  const e2eMs: number[] = [];
  const e2eRounds = Math.max(3, Math.ceil(rounds / 3));
  for (let r = 0; r < rounds; r++) {
    textMs.push(await time(() => model.predict(batchTexts(r + 1).map((text) => ({ text })))));
    fusedMs.push(await time(() => model.predict(batchTexts(r + 1).map((text, i) => ({ text, imageFeatures: features[i]! })))));
  }
  for (let r = 0; r < e2eRounds; r++) {
    e2eMs.push(
      await time(async () => {
        const px = await Promise.all(images.map((b) => preprocessImage(b, backbone.inputSize)));
        const emb = await backbone.embed(px);
        await model.predict(batchTexts(r).map((text, i) => ({ text, imageFeatures: emb.features[i]! })));
      }),
    );
  }
  const row = (name: string, ms: number[]) => ({ name, rounds: ms.length, medianBatchMs: median(ms), postsPerSecond: (BATCH * 1000) / median(ms) });
  const rows = [row('text-only posts (baseline)', textMs), row('image+text posts, features precomputed', fusedMs), row('image+text posts end to end (decode+backbone+model)', e2eMs)];
  const base = rows[0]!.postsPerSecond;
  console.log(`model ${model.version}, backbone ${backbone.id}, backend ${backend.name}, batch ${BATCH}`);
  console.log(`${'row'.padEnd(54)}${'batch ms'.padStart(10)}${'posts/s'.padStart(10)}${'vs text'.padStart(9)}`);
  for (const r of rows) console.log(`${r.name.padEnd(54)}${r.medianBatchMs.toFixed(0).padStart(10)}${r.postsPerSecond.toFixed(1).padStart(10)}${(r.postsPerSecond / base).toFixed(2).padStart(9)}`);
  await mkdir(path.join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(
    path.join(ROOT, 'bench', 'results', 'model-predict.json'),
    JSON.stringify({ date: new Date().toISOString(), model: model.version, backbone: backbone.id, backend: backend.name, batch: BATCH, rows: rows.map((r) => ({ ...r, ratioToTextOnly: r.postsPerSecond / base })) }, null, 2) + '\n',
  );
  model.dispose();
  backbone.dispose();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
