import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { rowFromText } from '../src/encode';
import { tinyRandomModel } from './helpers';

/** `npm run merge-members` end to end on tiny model folders: which members count as text-only, the files it writes, its refusals. */

const CLI = fileURLToPath(new URL('../src/cli/merge-members.ts', import.meta.url));
const image = (seed: number) => Float32Array.from({ length: 12 }, (_, i) => ((i * 5 + seed * 11) % 10) / 4);
let dir: string;

async function saveMember(name: string, model: EmotionModel, trainImages: number): Promise<string> {
  const out = path.join(dir, name);
  await model.save(out);
  await writeFile(path.join(out, 'data-summary.json'), JSON.stringify({ images: { train: trainImages } }));
  await writeFile(path.join(out, 'metrics.json'), JSON.stringify({ classWeights: { text: [0.8, 1, 1, 1.1, 1.3, 2] } }));
  return out;
}

function run(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
}

before(async () => {
  await initBackend({ prefer: 'wasm' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'merge-members-cli-'));
  const tsv = (n: number) => 'text\tlabel\n' + Array.from({ length: n }, (_, i) => `${['i love this', 'so scared', 'hate this storm', 'wow', 'happy day', 'so so scared'][i % 6]}\t${EMOTIONS[i % 6]}`).join('\n') + '\n';
  await mkdir(path.join(dir, 'data', 'goemotions'), { recursive: true });
  await writeFile(path.join(dir, 'data', 'goemotions', 'ekman6_train.tsv'), tsv(12));
  await writeFile(path.join(dir, 'data', 'goemotions', 'ekman6_dev.tsv'), tsv(30));
});
after(() => rm(dir, { recursive: true, force: true }));

test('merges two folders: the one trained on no image is text-only, the folder loads with both members', async () => {
  const withImages = await saveMember('a', await tinyRandomModel(1), 40);
  const textOnly = await saveMember('b', await tinyRandomModel(50), 0);
  const out = path.join(dir, 'merged');
  const r = run('--models', `${withImages},${textOnly}`, '--data', path.join(dir, 'data'), '--sources', 'goemotions', '--out', out, '--version', 'tiny-x2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /b: tiny-50, text T 1\.300, trained on no image \(its image weights are zeroed\)/);
  const metrics = JSON.parse(await readFile(path.join(out, 'metrics.json'), 'utf8'));
  assert.deepEqual(metrics.members.map((m: { version: string; textOnly: boolean }) => [m.version, m.textOnly]), [['tiny-1', false], ['tiny-50', true]]);
  assert.equal(metrics.devDomainsCalibrated.goemotions.n, 30);
  assert.match(await readFile(path.join(out, 'MODEL_CARD.md'), 'utf8'), /# Model tiny-x2[\s\S]*2 independently trained members/);
  const [a, b, merged] = (await Promise.all([withImages, textOnly, out].map((d) => EmotionModel.load(d, { warmUp: false })))) as [EmotionModel, EmotionModel, EmotionModel];
  assert.equal(merged.config.network.members, 2);
  const both = [rowFromText('i love this storm', image(1)), rowFromText('so scared', image(2))];
  const [la, lbText, lm] = [(await a.logits(both)).logits, (await b.logits(both.map((row) => ({ ...row, imageFeatures: null })))).logits, (await merged.logits(both)).logits];
  lm.forEach((x, i) => assert.ok(Math.abs(x - (la[i]! + lbText[i]!) / 2) < 1e-5, `logit ${i}`));
  for (const m of [a, b, merged]) m.dispose();
});

test('refuses folders whose n-gram lists differ, naming the difference, and writes nothing', async () => {
  const a = await saveMember('c', await tinyRandomModel(2), 40);
  const other = await saveMember('d', await tinyRandomModel(3, {}, ['i', 'love', 'this', 'i love', 'storm', 'so happy']), 0);
  const out = path.join(dir, 'refused');
  const r = run('--models', `${a},${other}`, '--data', path.join(dir, 'data'), '--sources', 'goemotions', '--out', out);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot merge tiny-3 with tiny-2: their n-gram lists differ/);
  await assert.rejects(readFile(path.join(out, 'config.json')));
});
