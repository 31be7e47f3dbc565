/**
 * Extracts the GloVe word-vector subset a model ships with, outside training:
 *   node --import tsx libs/model/scripts/extract-vocab.ts --out vocab.bin [--top-glove 30000] FILE.tsv...
 * Keeps the most frequent GloVe words plus every token of the given text<TAB>label files that GloVe
 * knows; frequent tokens GloVe lacks (emoji, "n't") get seeded random vectors. The training CLI
 * does the same (and caches the result under .cache/vocab).
 */
import { parseCommandLineOrExit } from '@moodstream/core';
import { buildVocabulary } from '../src/train/build-vocabulary';
import { readTextTsv } from '../src/train/data';
import { textTokens } from '../src/text/preprocess';

const { values, positionals } = parseCommandLineOrExit({
  command: 'node --import tsx libs/model/scripts/extract-vocab.ts',
  summary: 'extract the GloVe word-vector subset a model ships with, outside training',
  usage: '--out FILE [--top-glove N] [--min-count N] FILE.tsv...',
  positionals: { valueName: 'FILE.tsv...', description: 'text<TAB>label files whose tokens GloVe knows are kept' },
  options: {
    out: { type: 'string', valueName: 'FILE', required: true, description: 'the vocabulary file to write (vocab.bin)' },
    'top-glove': { type: 'number', default: 30000, integer: true, nonNegative: true, description: 'most frequent GloVe words kept' },
    'min-count': { type: 'number', default: 3, integer: true, nonNegative: true, description: 'tokens GloVe lacks seen at least this often get a seeded random vector' },
  },
});
async function main(): Promise<void> {
  const counts = new Map<string, number>();
  for (const file of positionals) for (const row of await readTextTsv(file)) for (const t of textTokens(row.text)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const vocab = buildVocabulary(counts, { topGlove: values['top-glove'], minCountForRandom: values['min-count'] });
  await vocab.save(values.out);
  process.stderr.write(`wrote ${values.out}: ${vocab.size} tokens × ${vocab.dim}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
