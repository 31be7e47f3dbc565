/**
 * Extracts the GloVe word-vector subset a model ships with, outside training:
 *   node --import tsx libs/model/scripts/extract-vocab.ts --out vocab.bin [--top-glove 30000] FILE.tsv...
 * Keeps the most frequent GloVe words plus every token of the given text<TAB>label files that GloVe
 * knows; frequent tokens GloVe lacks (emoji, "n't") get seeded random vectors. The training CLI
 * does the same (and caches the result under .cache/vocab).
 */
import { parseArgs } from 'node:util';
import { buildVocabulary } from '../src/train/build-vocabulary';
import { readTextTsv } from '../src/train/data';
import { textTokens } from '../src/text/preprocess';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, 'top-glove': { type: 'string', default: '30000' }, 'min-count': { type: 'string', default: '3' } },
});

async function main(): Promise<void> {
  if (!values.out) throw new Error('--out FILE is required');
  const counts = new Map<string, number>();
  for (const file of positionals) for (const row of await readTextTsv(file)) for (const t of textTokens(row.text)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const vocab = buildVocabulary(counts, { topGlove: Number(values['top-glove']), minCountForRandom: Number(values['min-count']) });
  await vocab.save(values.out);
  process.stderr.write(`wrote ${values.out}: ${vocab.size} tokens × ${vocab.dim}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
