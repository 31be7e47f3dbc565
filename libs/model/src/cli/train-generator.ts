/**
 * Trains the post generator (study 6.4): `npm run train:generator -- --data ../shared/data --out models/default/generator`.
 * A word-level LSTM language model whose initial state comes from image features and an emotion, trained on the
 * labelled texts (GoEmotions + CARER train) — read here at training time only, never copied — with synthetic
 * same-label Emotion6 image pairs (no real image+text pairs exist in the shared data). Then the unconditioned
 * baseline (same network, zero condition; shorter budget) and a unigram model, all scored on the held-out dev texts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseCommandLineOrExit } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../backend';
import { ImageBackbone, type BackboneId } from '../image/backbone';
import { EmotionModel } from '../emotion-model';
import { DEFAULT_MODEL_DIR } from '../paths';
import { readImageFolder, readTextTsv, splitImages, type TextExample } from '../train/data';
import { FeatureCache } from '../train/feature-cache';
import { gaussian, hashString, makeRng, shuffleInPlace } from '../train/rng';
import { GENERATOR_FORMAT, GEN_BOUNDARY, type GeneratorShape } from '../generate/generator-config';
import { buildWordList, encodeText, type LmExample } from '../generate/lm-data';
import { heldOutPerplexity, trainLanguageModel, unigramPerplexity, unknownRate } from '../generate/train-language-model';
import { PostGenerator, saveGenerator } from '../generate/post-generator';
import { disposeLanguageModel } from '../generate/lm-network';

const { values } = parseCommandLineOrExit({
  command: 'npm run train:generator',
  summary: 'train the post generator (study 6.4): a word-level LSTM conditioned on an emotion and image features, with an unconditioned baseline and a unigram model for comparison',
  options: {
    data: { type: 'string', valueName: 'DIR', default: '../shared/data', description: 'shared data folder (GoEmotions + CARER texts, Emotion6 images)' },
    model: { type: 'string', valueName: 'DIR', default: DEFAULT_MODEL_DIR, description: 'the classifier whose vocabulary (GloVe vectors) and image backbone the generator uses' },
    out: { type: 'string', valueName: 'DIR', default: path.join(DEFAULT_MODEL_DIR, 'generator'), description: 'the generator folder to write' },
    cache: { type: 'string', valueName: 'DIR', default: '.cache', description: 'image feature cache' },
    'vocab-size': { type: 'number', default: 3000, integer: true, positive: true, description: 'words the generator can write' },
    'lstm-units': { type: 'number', default: 64, integer: true, positive: true, description: 'LSTM units' },
    'image-units': { type: 'number', default: 32, integer: true, positive: true, description: 'units of the image condition' },
    'max-len': { type: 'number', default: 20, integer: true, positive: true, description: 'tokens per training text' },
    epochs: { type: 'number', default: 3, description: 'training epochs (each model also stops at its time budget)' },
    'max-seconds': { type: 'number', default: 1100, description: "time budget of the conditioned model's training" },
    'baseline-seconds': { type: 'number', default: 500, description: "time budget of the unconditioned baseline's training" },
    'batch-size': { type: 'number', default: 32, integer: true, positive: true, description: 'texts per training step' },
    'learning-rate': { type: 'number', default: 0.003, description: 'Adam learning rate' },
    'pair-probability': { type: 'number', default: 0.3, description: 'share of training texts given a same-label Emotion6 image' },
    'max-texts': { type: 'number', default: 0, description: 'sample about N training texts (0: all)' },
    'held-out': { type: 'number', default: 800, description: 'dev texts (a seeded sample) the perplexities are measured on' },
    'no-images': { type: 'boolean', default: false, description: 'train without image pairs' },
    seed: { type: 'number', default: 7, description: 'random seed' },
  },
  notes: 'The labelled texts are read at training time only, never copied into the generator folder.',
});
const log = (m: string) => process.stderr.write(`[train-generator] ${m}\n`);

async function readTexts(files: string[]): Promise<TextExample[]> {
  const out: TextExample[] = [];
  for (const f of files) if (existsSync(f)) out.push(...(await readTextTsv(f)));
  return out;
}

async function main(): Promise<void> {
  const data = values.data!;
  const seed = values.seed;
  const backend = await initBackend();
  log(`backend: ${backend.name}`);
  const classifier = await EmotionModel.load(values.model!, { warmUp: false });
  const backboneId = classifier.backboneId as BackboneId;
  const glove = classifier.vocab;

  const rng = makeRng(seed);
  let trainTexts = await readTexts([path.join(data, 'goemotions/ekman6_train.tsv'), path.join(data, 'carer/ekman6_train.tsv')]);
  const devTexts = await readTexts([path.join(data, 'goemotions/ekman6_dev.tsv'), path.join(data, 'carer/ekman6_dev.tsv')]);
  const maxTexts = values['max-texts'];
  if (maxTexts > 0) trainTexts = trainTexts.filter(() => rng() < maxTexts / trainTexts.length);
  if (trainTexts.length === 0) throw new Error(`no training texts under ${data}`);
  log(`texts: ${trainTexts.length} train, ${devTexts.length} held out (GoEmotions + CARER dev)`);

  const shape: GeneratorShape = {
    embeddingDim: glove.dim,
    lstmUnits: values['lstm-units'],
    imageUnits: values['image-units'],
    imageFeatureDim: classifier.featureDim,
    vocabSize: 0,
    conditionDim: EMOTIONS.length + 1,
    maxLen: values['max-len'],
    seed,
  };
  const words = buildWordList(trainTexts.map((t) => t.text), values['vocab-size'], glove);
  shape.vocabSize = words.length;
  const vectors = new Float32Array(words.length * glove.dim);
  words.forEach((w, i) => {
    if (w === GEN_BOUNDARY) {
      // No GloVe row for the boundary: a fixed pseudo-random vector at GloVe's scale, as the classifier does for emoji.
      const r = makeRng(hashString(w));
      for (let d = 0; d < glove.dim; d++) vectors[i * glove.dim + d] = 0.4 * gaussian(r);
    } else vectors.set(glove.vectors.subarray(glove.id(w) * glove.dim, (glove.id(w) + 1) * glove.dim), i * glove.dim);
  });
  classifier.dispose();
  const index = new Map(words.map((w, i) => [w, i]));
  const toExamples = (texts: TextExample[]): LmExample[] =>
    texts.map((t) => ({ ids: encodeText(t.text, index, shape.maxLen), label: t.label, image: null })).filter((e) => e.ids.length > 0);
  const train = toExamples(trainTexts);
  // A fixed, seeded sample of the dev texts: scoring all 5,174 takes a quarter of an hour on a loaded machine.
  const heldOutRng = makeRng(seed + 1);
  const heldOutAll = toExamples(devTexts);
  const heldOutMax = values['held-out'];
  const heldOut = heldOutAll.length <= heldOutMax ? heldOutAll : shuffleInPlace(heldOutAll, heldOutRng).slice(0, heldOutMax);

  let imagesByLabel: Float32Array[][] | undefined;
  const imageDir = path.join(data, 'emotion6/images');
  if (!values['no-images'] && existsSync(imageDir)) {
    const backbone = await ImageBackbone.load({ id: backboneId });
    const { train: imageTrain } = splitImages(await readImageFolder(imageDir));
    const { readFile } = await import('node:fs/promises');
    const features = await new FeatureCache(path.join(values.cache!, 'features'), backbone).features(imageTrain.map((im) => ({ bytes: () => readFile(im.file) })), 'image features');
    backbone.dispose();
    imagesByLabel = EMOTIONS.map(() => []);
    features.forEach((f, i) => f && imagesByLabel![imageTrain[i]!.label]!.push(f));
    log(`synthetic pairs from ${imageTrain.length} Emotion6 training images (held-out fifth and dev tenth never used)`);
  }

  const common = {
    shape,
    vectors,
    batchSize: values['batch-size'],
    learningRate: values['learning-rate'],
    epochs: values.epochs,
    seed,
    imagesByLabel,
    pairProbability: values['pair-probability'],
  };
  const conditioned = await trainLanguageModel(train, { ...common, conditioned: true, maxSeconds: values['max-seconds'], label: 'conditioned LSTM' });
  const cond = await heldOutPerplexity(conditioned.model, heldOut, { ...common, conditioned: true });
  log(`conditioned: ${conditioned.steps} steps in ${conditioned.seconds.toFixed(0)} s, held-out perplexity ${cond.perplexity.toFixed(1)}`);
  const version = `gen-${new Date().toISOString().slice(0, 10)}`;
  const save = (training: Record<string, unknown>) =>
    saveGenerator(values.out!, conditioned.model, words, vectors, { format: GENERATOR_FORMAT, version, backboneId, conditioned: true, shape, training });
  // Saved at once (the baseline below takes a while and may be stopped); saved again with the baseline's numbers.
  await save({ conditioned: { steps: conditioned.steps, seconds: conditioned.seconds, perplexity: cond.perplexity } });
  const baseline = await trainLanguageModel(train, { ...common, conditioned: false, maxSeconds: values['baseline-seconds'], label: 'unconditioned LSTM' });
  const base = await heldOutPerplexity(baseline.model, heldOut, { ...common, conditioned: false });
  disposeLanguageModel(baseline.model);
  const unigram = unigramPerplexity(train, heldOut, shape.vocabSize);
  log(`unconditioned: ${baseline.steps} steps in ${baseline.seconds.toFixed(0)} s, perplexity ${base.perplexity.toFixed(1)}; unigram ${unigram.toFixed(1)}`);

  const training = {
    data: 'GoEmotions ekman6 train + CARER ekman6 train (texts); Emotion6 training images as synthetic same-label pairs',
    trainTexts: train.length,
    heldOut: { texts: heldOut.length, tokens: cond.tokens, source: `a seeded sample of GoEmotions ekman6 dev + CARER ekman6 dev (${heldOutAll.length} texts)`, unknownRate: unknownRate(heldOut) },
    backend: backend.name,
    options: { ...common, vectors: undefined, imagesByLabel: undefined, images: imagesByLabel?.reduce((s, l) => s + l.length, 0) ?? 0 },
    conditioned: { steps: conditioned.steps, epochs: conditioned.epochsDone, seconds: conditioned.seconds, lastLoss: conditioned.lastLoss, perplexity: cond.perplexity },
    unconditionedBaseline: { steps: baseline.steps, epochs: baseline.epochsDone, seconds: baseline.seconds, lastLoss: baseline.lastLoss, perplexity: base.perplexity },
    unigramPerplexity: unigram,
  };
  await save(training);
  disposeLanguageModel(conditioned.model);
  const generator = await PostGenerator.load(values.out!);
  for (const emotion of EMOTIONS) log(`${emotion}: ${generator.generate({ emotion, seed: 1, temperature: 0.8 }).text}`);
  process.stdout.write(JSON.stringify(training, null, 2) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
