/**
 * Exports the post generator's training inputs for the native-TensorFlow trainer (train.py), prepared exactly as
 * `npm run train:generator` prepares them: the shipped generator's word list and vectors (vocab.bin, decoded by
 * `Vocabulary`), `encodeText` (libs/model's `textTokens`, cut to maxLen − 1 words, unknown words → <unk>, empty texts
 * dropped), GoEmotions + CARER ekman6 train texts, the same seeded 800 held-out dev texts (seed + 1 shuffle), and
 * backbone features of the Emotion6 *training* images only (`splitImages`, the feature cache).
 *   node --import tsx scripts/generator-probe/export-data.ts [--generator models/default/generator] [--data ../shared/data] [--out DIR]
 * Writes DIR/tokens.json (word list, token ids and labels of train / heldOut / select), DIR/vectors.f32 (row-major
 * [vocab, dim]) and DIR/images.f32 ([n, featureDim], labels in tokens.json). `select` is the rest of the dev texts
 * (never the 800 held-out ones): what train.py picks its epoch on. A cache: never committed.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLineOrExit, ValidationError } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { ImageBackbone, initBackend, readImageFolder, splitImages, Vocabulary, type BackboneId } from '@moodstream/model';
// File-private to libs/model (not in its index): the generator's own data preparation, imported as it is.
import { readTextTsv, type TextExample } from '../../libs/model/src/train/data';
import { FeatureCache } from '../../libs/model/src/train/feature-cache';
import { makeRng, shuffleInPlace } from '../../libs/model/src/train/rng';
import { encodeText, type LmExample } from '../../libs/model/src/generate/lm-data';
import { GENERATOR_CONFIG_FILE, GENERATOR_VOCAB_FILE, GeneratorConfigSchema } from '../../libs/model/src/generate/generator-config';
import { unknownRate } from '../../libs/model/src/generate/train-language-model';

const { values } = parseCommandLineOrExit({
  command: 'node --import tsx scripts/generator-probe/export-data.ts',
  summary: "export the post generator's token ids, held-out texts and Emotion6 training-image features for train.py",
  options: {
    generator: { type: 'string', valueName: 'DIR', default: 'models/default/generator', description: 'generator folder whose word list (vocab.bin), maxLen, seed and backbone are used' },
    data: { type: 'string', valueName: 'DIR', default: '../shared/data', description: 'the shared data folder (GoEmotions + CARER TSVs, Emotion6 images)' },
    cache: { type: 'string', valueName: 'DIR', default: '.cache', description: 'image feature cache (as npm run train:generator)' },
    out: { type: 'string', valueName: 'DIR', default: '.cache/generator-probe/data', description: 'where tokens.json, vectors.f32 and images.f32 are written' },
    'held-out': { type: 'number', integer: true, positive: true, default: 800, description: 'dev texts (a seeded sample) the perplexities are measured on' },
  },
  examples: ['node --import tsx scripts/generator-probe/export-data.ts --out /tmp/h15g/data'],
  notes: 'The labelled texts are read here and written as token ids to the cache folder only, never into the repository.',
});

async function readTexts(files: string[]): Promise<TextExample[]> {
  const out: TextExample[] = [];
  for (const f of files) if (existsSync(f)) out.push(...(await readTextTsv(f)));
  return out;
}

const pack = (examples: readonly LmExample[]) => ({ ids: examples.map((e) => e.ids), labels: examples.map((e) => e.label) });

async function main(): Promise<void> {
  const config = GeneratorConfigSchema.parse(JSON.parse(await readFile(path.join(values.generator, GENERATOR_CONFIG_FILE), 'utf8')));
  const shape = config.shape;
  const vocab = await Vocabulary.load(path.join(values.generator, GENERATOR_VOCAB_FILE));
  const index = new Map(vocab.words.map((w, i) => [w, i]));
  const data = values.data;
  const trainTexts = await readTexts([path.join(data, 'goemotions/ekman6_train.tsv'), path.join(data, 'carer/ekman6_train.tsv')]);
  const devTexts = await readTexts([path.join(data, 'goemotions/ekman6_dev.tsv'), path.join(data, 'carer/ekman6_dev.tsv')]);
  if (trainTexts.length === 0) throw new ValidationError(`no training texts under ${data}`);
  // As train-generator.ts: texts with no token left are dropped, the held-out set is a seed + 1 shuffle of the rest.
  const toExamples = (texts: TextExample[]): LmExample[] =>
    texts.map((t) => ({ ids: encodeText(t.text, index, shape.maxLen), label: t.label, image: null })).filter((e) => e.ids.length > 0);
  const train = toExamples(trainTexts);
  const devAll = shuffleInPlace(toExamples(devTexts), makeRng(shape.seed + 1));
  const heldOut = devAll.slice(0, values['held-out']);
  const select = devAll.slice(values['held-out']);

  await initBackend();
  const backbone = await ImageBackbone.load({ id: config.backboneId as BackboneId });
  const { train: imageTrain } = splitImages(await readImageFolder(path.join(data, 'emotion6/images')));
  const features = await new FeatureCache(path.join(values.cache, 'features'), backbone).features(
    imageTrain.map((im) => ({ bytes: () => readFile(im.file) })),
    'image features',
  );
  backbone.dispose();
  const kept = imageTrain.flatMap((im, i) => (features[i] ? [{ label: im.label, f: features[i] }] : []));
  const images = new Float32Array(kept.length * shape.imageFeatureDim);
  kept.forEach((k, i) => images.set(k.f, i * shape.imageFeatureDim));

  await mkdir(values.out, { recursive: true });
  await writeFile(path.join(values.out, 'vectors.f32'), Buffer.from(vocab.vectors.buffer, vocab.vectors.byteOffset, vocab.vectors.byteLength));
  await writeFile(path.join(values.out, 'images.f32'), Buffer.from(images.buffer));
  const heldOutTokens = heldOut.reduce((s, e) => s + e.ids.length + 1, 0);
  const meta = {
    generator: path.resolve(values.generator),
    generatorVersion: config.version,
    backboneId: config.backboneId,
    labels: EMOTIONS,
    shape: { ...shape },
    words: vocab.words,
    dim: vocab.dim,
    imageLabels: kept.map((k) => k.label),
    heldOutInfo: { texts: heldOut.length, tokens: heldOutTokens, unknownRate: unknownRate(heldOut), source: `a seeded sample of GoEmotions ekman6 dev + CARER ekman6 dev (${devAll.length} texts)` },
    train: pack(train),
    heldOut: pack(heldOut),
    select: pack(select),
  };
  await writeFile(path.join(values.out, 'tokens.json'), JSON.stringify(meta));
  process.stderr.write(
    `wrote ${values.out}: ${vocab.size} words × ${vocab.dim}, ${train.length} train, ${heldOut.length} held out (${heldOutTokens} tokens, ` +
      `${(100 * meta.heldOutInfo.unknownRate).toFixed(2)} % <unk>), ${select.length} select, ${kept.length} Emotion6 training images\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
