/**
 * Exports the shipped model's own text inputs for the native-TensorFlow probe (probe.py), so the probe trains on
 * exactly what `npm run train` feeds the network: libs/model's preprocessing (`textTokens`), the shipped word list
 * (`vocab.bin`, its int8 vectors decoded by `Vocabulary`) and the shipped n-gram list (`bow.json`, its L2-normalised
 * presence features from `BagOfWords.sparse`), both read through `EmotionModel.load` so nothing is re-implemented.
 *   node --import tsx scripts/text-probe/export-tokens.ts [--model models/default] [--data ../shared/data] [--out DIR]
 * Writes DIR/vectors.f32 (row-major [vocab, dim] float32) and DIR/tokens.json (every split's token ids, n-gram
 * indices and labels). A cache: never committed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLineOrExit, ValidationError } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { EmotionModel, initBackend, textTokens } from '@moodstream/model';
// File-private to libs/model (not in its index): the TSV reader training and eval use, imported as it is.
import { readTextTsv } from '../../libs/model/src/train/data';

const { values } = parseCommandLineOrExit({
  command: 'node --import tsx scripts/text-probe/export-tokens.ts',
  summary: "export the shipped model's token ids and n-gram features of GoEmotions and CARER for the text probe",
  options: {
    model: { type: 'string', valueName: 'DIR', default: 'models/default', description: 'model folder whose vocab.bin, bow.json and maxLen are used' },
    data: { type: 'string', valueName: 'DIR', default: '../shared/data', description: 'the shared data folder (<DIR>/<source>/ekman6_<split>.tsv)' },
    out: { type: 'string', valueName: 'DIR', default: '.cache/text-probe', description: 'where vectors.f32 and tokens.json are written' },
  },
  examples: ['node --import tsx scripts/text-probe/export-tokens.ts --out /tmp/h16p/tokens'],
  notes: 'Splits: goemotions train/dev/test, carer train/dev. Token ids are truncated to the model maxLen (its first tokens, as encodeBatch does); n-grams use every token, as encodeBatch does.',
});

const SPLITS: ReadonlyArray<[source: string, split: string]> = [
  ['goemotions', 'train'],
  ['goemotions', 'dev'],
  ['goemotions', 'test'],
  ['carer', 'train'],
  ['carer', 'dev'],
];

async function main(): Promise<void> {
  // Only the vocabulary and n-gram list are read; the network is loaded (and never run) on the CPU backend.
  await initBackend({ prefer: 'cpu' });
  const model = await EmotionModel.load(values.model, { warmUp: false });
  const { vocab, bow } = model;
  if (!bow) throw new ValidationError(`${values.model} has no n-gram list (bow.json): the probe reproduces the n-gram branch`);
  const maxLen = model.config.preprocessing.maxLen;
  const splits: Record<string, { labels: number[]; ids: number[][]; bow: number[][] }> = {};
  for (const [source, split] of SPLITS) {
    const rows = await readTextTsv(path.join(values.data, source, `ekman6_${split}.tsv`));
    const out = { labels: [] as number[], ids: [] as number[][], bow: [] as number[][] };
    for (const { text, label } of rows) {
      const tokens = textTokens(text);
      out.labels.push(label);
      out.ids.push(tokens.slice(0, maxLen).map((t) => vocab.id(t)));
      // The value of every present n-gram is 1/sqrt(count): the probe recomputes it from the indices.
      out.bow.push(bow.sparse(tokens).indices);
    }
    splits[`${source}_${split}`] = out;
    process.stderr.write(`${source} ${split}: ${rows.length} rows\n`);
  }
  await mkdir(values.out, { recursive: true });
  const vectors = Buffer.from(vocab.vectors.buffer, vocab.vectors.byteOffset, vocab.vectors.byteLength);
  await writeFile(path.join(values.out, 'vectors.f32'), vectors);
  const meta = { model: path.resolve(values.model), version: model.version, vocabSize: vocab.size, dim: vocab.dim, bowSize: bow.size, maxLen, labels: EMOTIONS, splits };
  await writeFile(path.join(values.out, 'tokens.json'), JSON.stringify(meta));
  model.dispose();
  process.stderr.write(`wrote ${values.out}: vocabulary ${vocab.size} × ${vocab.dim}, ${bow.size} n-grams, model ${model.version}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
