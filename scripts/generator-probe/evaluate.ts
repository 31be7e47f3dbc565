/**
 * Held-out perplexity of generator folders with the project's own evaluation (train-language-model.ts
 * `heldOutPerplexity`, the vectors the folder's vocab.bin holds) on export-data.ts's 800 held-out texts, and of the
 * unigram model: how an existing generator (the shipped one) is put in the same table as a new run.
 *   node --import tsx scripts/generator-probe/evaluate.ts --generator models/default/generator [--generator DIR ...]
 */
import { parseCommandLineOrExit, ValidationError } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '@moodstream/model';
// File-private to libs/model (not in its index): the generator's evaluation, imported as it is.
import { heldOutPerplexity, unigramPerplexity } from '../../libs/model/src/generate/train-language-model';
import { disposeLanguageModel } from '../../libs/model/src/generate/lm-network';
import { loadGeneratorFolder, readProbeData } from './generator-export';

const { values } = parseCommandLineOrExit({
  command: 'node --import tsx scripts/generator-probe/evaluate.ts',
  summary: 'held-out perplexity of generator folders (conditioned ones also under a wrong emotion) and of the unigram model, on the 800 seeded held-out texts',
  options: {
    generator: { type: 'string', valueName: 'DIR', multiple: true, required: true, description: 'a generator folder (repeatable)' },
    data: { type: 'string', valueName: 'DIR', default: '.cache/generator-probe/data', description: "export-data.ts's folder (held-out and training token ids)" },
  },
  examples: ['node --import tsx scripts/generator-probe/evaluate.ts --generator models/default/generator'],
});

async function main(): Promise<void> {
  await initBackend();
  const data = await readProbeData(values.data);
  const heldOut = data.heldOut;
  const rows: Array<Record<string, unknown>> = [];
  for (const dir of values.generator) {
    const { model, config, vocab } = await loadGeneratorFolder(dir);
    if (vocab.words.join('\n') !== data.words.join('\n')) throw new ValidationError(`${dir} has another word list than ${values.data}: its perplexity would not be comparable`);
    const { perplexity, tokens } = await heldOutPerplexity(model, heldOut, { shape: config.shape, conditioned: config.conditioned, vectors: vocab.vectors });
    // How much the emotion is used: the same texts scored under the next emotion (EMOTIONS order) instead of their own.
    const shifted = config.conditioned ? await heldOutPerplexity(model, heldOut.map((e) => ({ ...e, label: (e.label + 1) % EMOTIONS.length })), { shape: config.shape, conditioned: true, vectors: vocab.vectors }) : null;
    disposeLanguageModel(model);
    rows.push({ generator: dir, version: config.version, conditioned: config.conditioned, perplexity, tokens, ...(shifted ? { perplexityUnderAnotherEmotion: shifted.perplexity } : {}) });
  }
  rows.push({ generator: 'unigram (add-one, training targets)', perplexity: unigramPerplexity(data.train, heldOut, data.words.length) });
  process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
