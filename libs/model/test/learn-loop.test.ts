import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EMOTIONS, type Emotion } from '@moodstream/events';
import { initBackend } from '../src/backend';
import { EmotionModel } from '../src/emotion-model';
import { textTokens } from '../src/text/preprocess';
import { BagOfWords } from '../src/text/bag-of-words';
import { trainEmotionModel, type LabelledRow, type TrainOptions } from '../src/train/trainer';
import { learnOnce, type LabelledPost } from '../src/train/learn-loop';
import { ModelRegistry } from '../src/registry/model-registry';
import { decidePromotion } from '../src/registry/promotion-gate';
import { makeRng } from '../src/train/rng';
import { mergeMembers } from '../src/train/merge-members';
import { tinyVocabulary } from './helpers';

/** Domain A (the fixed set) and domain B (the stream: other words for the same feelings, no 'disgusted', like CARER). */
const CUES_A = ['sunny', 'tears', 'furious', 'whoa', 'spooky', 'gross'];
const CUES_B = ['glad', 'weeping', 'livid', 'astonished', 'terrified'];
const B_LABELS = [0, 1, 2, 3, 4];
const FILLER = ['the', 'day', 'was', 'really', 'so', 'and', 'then', 'it', 'i', 'feel'];

function sentence(cue: string, rng: () => number): string {
  const words = Array.from({ length: 3 + Math.floor(rng() * 4) }, () => FILLER[Math.floor(rng() * FILLER.length)]!);
  words.splice(Math.floor(rng() * words.length), 0, cue);
  return words.join(' ');
}

function domainA(n: number, seed: number): LabelledRow[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, (_, i) => ({ tokens: textTokens(sentence(CUES_A[i % 6]!, rng)), imageFeatures: null, label: i % 6 }));
}

function streamPosts(n: number, seed: number, t0 = 1_700_000_000_000): LabelledPost[] {
  const rng = makeRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = B_LABELS[i % B_LABELS.length]!;
    return {
      id: `p${String(i).padStart(6, '0')}`,
      blog: 'b',
      url: `https://b.tumblr.com/post/${i}`,
      timestamp: t0 + i * 1000,
      topics: [EMOTIONS[label]!],
      tags: [EMOTIONS[label]!],
      text: sentence(CUES_B[label]!, rng),
      imageUrl: null,
      noteCount: null,
      source: 'live',
      label: EMOTIONS[label] as Emotion,
      ingestedAt: t0 + i * 1000,
    };
  });
}

const base: TrainOptions = {
  version: 'base-a',
  backboneId: 'mobilenet_v2_mid',
  featureDim: 4,
  imageInputSize: 224,
  maxLen: 12,
  network: { lstmUnits: 8, bidirectional: false, bowUnits: 8, imageUnits: 4, fusionUnits: 16, dropout: 0.1, bowDropout: 0.1, textDropout: 0.1 },
  bowMinCount: 1,
  bowMaxFeatures: 200,
  epochs: 15,
  patience: 30,
  evalsPerEpoch: 1,
  batchSize: 16,
  learningRate: 0.01,
  classWeightPower: 0.5,
  imageRepeats: 0,
  pairRepeats: 0,
  dropTextProbability: 0,
  dropImageProbability: 0,
  seed: 7,
};

let dir: string;
let current: EmotionModel;
const fixed = { name: 'a', train: domainA(120, 1), dev: domainA(60, 2) };
// Tiny dev slices (60 rows: one error moves macro-F1 by ~0.02): the margin is wider than the shipped loop's 0.01.
const learnOptions = { epochs: 10, evalsPerEpoch: 1, learningRate: 0.01, batchSize: 16, replayPerSource: 120, seed: 3, margins: { default: 0.05 } };

before(async () => {
  await initBackend({ prefer: 'wasm' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'learn-loop-'));
  // Bag-of-words fitted on domain A only (as the shipped model's n-grams come from its own sources).
  const vocab = tinyVocabulary([...CUES_A, ...CUES_B, ...FILLER]);
  current = (await trainEmotionModel({ text: fixed.train, images: [], posts: [], dev: { text: fixed.dev, images: [], fused: [] } }, vocab, base)).model;
});

after(async () => {
  current.dispose();
  await rm(dir, { recursive: true, force: true });
});

test('the gate refuses a candidate worse on any one slice, whatever it gains elsewhere', () => {
  const s = (macroF1: number, accuracy = macroF1) => ({ n: 100, accuracy, macroF1, ece: 0.02 });
  const margins = { default: 0.01 };
  assert.equal(decidePromotion({ a: s(0.6), b: s(0.5) }, { a: s(0.95), b: s(0.48) }, margins).promote, false);
  assert.equal(decidePromotion({ a: s(0.6), b: s(0.5) }, { a: s(0.6), b: s(0.495) }, margins).promote, true, 'within the margin');
  assert.equal(decidePromotion({ a: s(0.6), b: s(0.5) }, { a: s(0.6), b: s(0.495) }, { default: 0.01, perSlice: { b: 0 } }).promote, false, 'per-slice margin');
  assert.equal(decidePromotion({ a: s(0.6, 0.8), b: s(0.5) }, { a: s(0.7, 0.7), b: s(0.5) }, margins).promote, false, 'accuracy counts too');
  assert.equal(decidePromotion({ a: s(0.6) }, { a: s(0.7), b: s(0.9) }, margins).promote, false, 'a slice the current model was not measured on');
  assert.equal(decidePromotion({}, {}, margins).promote, false);
});

test('one turn of the loop learns the stream domain, keeps the fixed one and is promoted; shuffled labels are refused', async () => {
  const registry = new ModelRegistry(path.join(dir, 'registry'));
  const posts = streamPosts(300, 5);
  const good = await learnOnce(current, posts, [fixed], { ...learnOptions, version: 'learn-good' });
  const g = good.report;
  const gain = g.slices.candidate['posts-newest']!.macroF1 - g.slices.current['posts-newest']!.macroF1;
  assert.ok(gain > 0.3, `posts-newest macro-F1 ${g.slices.current['posts-newest']!.macroF1.toFixed(3)} → ${g.slices.candidate['posts-newest']!.macroF1.toFixed(3)}`);
  assert.ok(g.slices.candidate['a-dev']!.macroF1 >= g.slices.current['a-dev']!.macroF1 - 0.05, `a-dev ${JSON.stringify(g.slices)}`);
  assert.equal(g.decision.promote, true, g.decision.refusedBecause.join('; '));
  assert.deepEqual([g.posts.train, g.posts.validation, g.posts.heldOut], [240, 30, 30]);
  // The held-out slice is the newest posts: nothing trained on is newer than it.
  assert.equal(g.posts.heldOutFrom, posts[270]!.timestamp);

  await good.candidate.save(path.join(dir, 'staging-good'));
  await registry.add('learn-good', path.join(dir, 'staging-good'));
  await registry.promote('learn-good', 'test');
  assert.equal((await registry.current())?.version, 'learn-good');
  const promoted = await EmotionModel.load(await registry.currentDir('unused'), { warmUp: false });
  assert.equal(promoted.version, 'learn-good');

  const bad = await learnOnce(promoted, posts, [fixed], { ...learnOptions, version: 'learn-bad', shuffleLabels: true });
  assert.equal(bad.report.posts.shuffledLabels, true);
  assert.equal(bad.report.decision.promote, false, `a shuffled-label candidate passed: ${JSON.stringify(bad.report.slices)}`);
  assert.ok(bad.report.decision.refusedBecause.some((r) => r.startsWith('posts-newest')), bad.report.decision.refusedBecause.join('; '));
  assert.equal((await registry.current())?.version, 'learn-good', 'the pointer did not move');
  for (const m of [good.candidate, bad.candidate, promoted]) m.dispose();
});

test('the registry stores versions, moves its pointer atomically and keeps a history', async () => {
  const registry = new ModelRegistry(path.join(dir, 'reg2'));
  assert.equal(await registry.current(), null);
  assert.equal(await registry.currentDir('/shipped'), '/shipped');
  await current.save(path.join(dir, 'm1'));
  await registry.add('v1', path.join(dir, 'm1'));
  await registry.add('v2', path.join(dir, 'm1'));
  await assert.rejects(registry.add('v1', path.join(dir, 'm1')), /exists/);
  assert.throws(() => registry.dirOf('../escape'), /not/);
  await assert.rejects(registry.promote('v3', 'x'), /no version/);
  await registry.promote('v1', 'first', 1000);
  const p = await registry.promote('v2', 'second', 2000);
  assert.deepEqual(p, { version: 'v2', promotedAt: 2000, previous: 'v1', reason: 'second' });
  assert.deepEqual(await registry.versions(), ['v1', 'v2']);
  const history = (await readFile(path.join(registry.root, 'history.ndjson'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).version);
  assert.deepEqual(history, ['v1', 'v2']);
});

test('a warm start can grow the n-gram list: old n-grams keep their index, texts without new ones score as before', async () => {
  const stream = streamPosts(120, 9).map((p) => textTokens(p.text));
  assert.ok(!current.bow!.features.includes('glad'), 'the base n-grams come from domain A only');
  const grown = await trainEmotionModel({ text: fixed.train, images: [], posts: [], dev: { text: fixed.dev, images: [], fused: [] } }, current.vocab, {
    ...base,
    version: 'grown',
    epochs: 0,
    init: current,
    growBow: { texts: stream, minCount: 3, maxNew: 40 },
  });
  const g = grown.model;
  assert.equal(g.bow!.size, current.bow!.size + 40);
  assert.deepEqual(g.bow!.features.slice(0, current.bow!.size), current.bow!.features);
  for (const cue of CUES_B) assert.ok(g.bow!.features.includes(cue), cue);
  assert.equal(g.config.network.bowSize, g.bow!.size);
  // Zero weights for the new n-grams: a text holding none of them scores exactly as before (one that holds some
  // changes a little: the presence vector is L2-normalised over more hits).
  const added = new Set(g.bow!.features.slice(current.bow!.size));
  const untouched = fixed.dev.filter((r) => !BagOfWords.ngrams(r.tokens).some((n) => added.has(n)));
  assert.ok(untouched.length >= 10, `${untouched.length} domain A texts without a new n-gram`);
  assert.deepEqual([...(await g.logits(untouched)).logits], [...(await current.logits(untouched)).logits]);
  const saved = path.join(dir, 'grown');
  await g.save(saved);
  const loaded = await EmotionModel.load(saved, { warmUp: false });
  assert.equal(loaded.bow!.size, g.bow!.size);
  for (const m of [g, loaded]) m.dispose();
});

test('the L2 anchor keeps a fine-tune closer to its parent', async () => {
  const posts = streamPosts(300, 5);
  const distance = (m: EmotionModel) => {
    const a = m.network.getWeights();
    const b = current.network.getWeights();
    return a.reduce((s, w, i) => s + (w.sub(b[i]!).square().sum().dataSync()[0] ?? 0), 0);
  };
  const free = await learnOnce(current, posts, [fixed], { ...learnOptions, epochs: 3, version: 'free' });
  const anchored = await learnOnce(current, posts, [fixed], { ...learnOptions, epochs: 3, version: 'anchored', anchor: 0.05 });
  const [df, da] = [distance(free.candidate), distance(anchored.candidate)];
  assert.ok(da < 0.5 * df, `squared distance to the parent: free ${df.toFixed(3)}, anchored ${da.toFixed(3)}`);
  for (const m of [free.candidate, anchored.candidate]) m.dispose();
});

test('the loop fine-tunes a multi-member (merged) model: every member trains, the candidate keeps the members', async () => {
  const vocab = current.vocab;
  const other = (await trainEmotionModel({ text: fixed.train, images: [], posts: [], dev: { text: fixed.dev, images: [], fused: [] } }, vocab, { ...base, version: 'base-a2', seed: 8 })).model;
  const merged = mergeMembers([{ model: current, textOnly: true }, { model: other, textOnly: true }], { version: 'merged', foldTemperatures: true });
  const posts = streamPosts(300, 5);
  const learnt = await learnOnce(merged, posts, [fixed], { ...learnOptions, version: 'learn-merged' });
  const r = learnt.report;
  assert.equal(learnt.candidate.config.network.members, 2);
  assert.ok(r.slices.candidate['posts-newest']!.macroF1 - r.slices.current['posts-newest']!.macroF1 > 0.3, JSON.stringify(r.slices));
  const moved = (name: string) => {
    const [a, b] = [merged.network.getLayer(name).getWeights()[0]!, learnt.candidate.network.getLayer(name).getWeights()[0]!];
    return a.sub(b).abs().max().dataSync()[0]!;
  };
  for (const layer of ['text_bow_dense_m0', 'text_bow_dense_m1']) assert.ok(moved(layer) > 0, `${layer} trained`);
  for (const m of [other, merged, learnt.candidate]) m.dispose();
});
