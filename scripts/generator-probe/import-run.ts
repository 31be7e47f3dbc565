/**
 * Turns a generator-probe run (train.py) into a generator folder and measures it with the project's own evaluation:
 *   node --import tsx scripts/generator-probe/import-run.ts --run RUN --baseline BASE_RUN --data DATA --out DIR
 * The run's weights are set on lm-network.ts's network and written by `saveGenerator` (generator.json, weights.bin,
 * vocab.bin); held-out perplexity of the run, of the unconditioned baseline run and of the unigram model comes from
 * train-language-model.ts (`heldOutPerplexity`, `unigramPerplexity`) on export-data.ts's 800 held-out texts; the
 * saved folder is loaded as `PostGenerator` and its next-word logits compared with Keras's on the run's check texts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLineOrExit, ValidationError } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { initBackend, PostGenerator } from '@moodstream/model';
// File-private to libs/model (not in its index): the generator's format, writer and evaluation, imported as they are.
import { GENERATOR_CONFIG_FILE, GENERATOR_FORMAT, type GeneratorConfig } from '../../libs/model/src/generate/generator-config';
import { saveGenerator } from '../../libs/model/src/generate/post-generator';
import { disposeLanguageModel } from '../../libs/model/src/generate/lm-network';
import { heldOutPerplexity, unigramPerplexity } from '../../libs/model/src/generate/train-language-model';
import { importGeneratorExport, readGeneratorExport, readProbeData, type GeneratorExport } from './generator-export';
import { checkSampler } from './sampler-check';

const { values } = parseCommandLineOrExit({
  command: 'node --import tsx scripts/generator-probe/import-run.ts',
  summary: 'write a generator-probe run as a generator folder, with held-out perplexities from the TypeScript evaluation and a sampler-vs-Keras check',
  options: {
    run: { type: 'string', valueName: 'RUN', required: true, description: 'the conditioned run folder (RUN/export.bin from train.py)' },
    baseline: { type: 'string', valueName: 'RUN', required: true, description: 'the unconditioned baseline run folder (train.py --unconditioned), trained with the same budget' },
    data: { type: 'string', valueName: 'DIR', default: '.cache/generator-probe/data', description: "export-data.ts's folder (held-out and training token ids)" },
    out: { type: 'string', valueName: 'DIR', required: true, description: 'the generator folder to write (e.g. models/default/generator)' },
    version: { type: 'string', valueName: 'NAME', description: 'generator version (default gen-<date>-<run name>)' },
  },
  examples: ['node --import tsx scripts/generator-probe/import-run.ts --run .cache/generator-probe/runs/h128-cond --baseline .cache/generator-probe/runs/h128-uncond --out /tmp/gen'],
  notes: 'The conditioned run is saved before the baseline is measured; generator.json is rewritten with every number at the end.',
});
const log = (m: string) => process.stderr.write(`[import-run] ${m}\n`);

async function readRun(dir: string): Promise<GeneratorExport> {
  return readGeneratorExport(await readFile(path.join(dir, 'export.bin')));
}

async function main(): Promise<void> {
  await initBackend();
  const data = await readProbeData(values.data);
  const run = await readRun(values.run);
  const base = await readRun(values.baseline);
  if (!run.header.conditioned) throw new ValidationError(`${values.run} is an unconditioned run: --run takes the conditioned one`);
  if (base.header.conditioned) throw new ValidationError(`${values.baseline} is a conditioned run: --baseline takes train.py --unconditioned`);
  for (const exp of [run, base]) {
    if (exp.header.words.join('\n') !== data.words.join('\n')) throw new ValidationError(`${exp.header.run} was trained on another word list than ${values.data}`);
  }
  const { heldOut, train } = data;

  const measure = async (exp: GeneratorExport) => {
    const { model, words, vectors } = importGeneratorExport(exp);
    const { perplexity, tokens } = await heldOutPerplexity(model, heldOut, { shape: exp.header.shape, conditioned: exp.header.conditioned, vectors });
    return { model, words, vectors, perplexity, tokens };
  };
  const cond = await measure(run);
  log(`${run.header.run}: held-out perplexity ${cond.perplexity.toFixed(2)} over ${cond.tokens} tokens (Keras said ${Number(run.header.training.kerasHeldOutPerplexity).toFixed(2)})`);
  const version = values.version ?? `gen-${new Date().toISOString().slice(0, 10)}-${run.header.run}`;
  const summary = (exp: GeneratorExport, perplexity: number) => {
    const t = exp.header.training;
    return { run: exp.header.run, steps: t.steps, epochs: t.epochs, seconds: t.seconds, pausedSeconds: t.pausedSeconds, selectPerplexity: t.selectPerplexity, perplexity };
  };
  const config = (training: Record<string, unknown>): Omit<GeneratorConfig, 'weightSpecs'> => ({ format: GENERATOR_FORMAT, version, backboneId: run.header.backboneId, conditioned: true, shape: run.header.shape, training });
  await saveGenerator(values.out, cond.model, cond.words, cond.vectors, config({ conditioned: summary(run, cond.perplexity) }));

  const baseline = await measure(base);
  disposeLanguageModel(baseline.model);
  log(`${base.header.run}: held-out perplexity ${baseline.perplexity.toFixed(2)} (Keras said ${Number(base.header.training.kerasHeldOutPerplexity).toFixed(2)})`);
  const unigram = unigramPerplexity(train, heldOut, run.header.shape.vocabSize);
  log(`unigram: held-out perplexity ${unigram.toFixed(2)}`);

  const check = checkSampler(await PostGenerator.load(values.out), run);
  log(`sampler vs Keras: ${check.positions} next-word positions of ${check.texts} held-out texts, max |d logit| ${check.maxAbsDiff.toExponential(2)}, argmax agrees ${check.argmaxAgree}/${check.positions}`);
  const t = run.header.training;
  const training = {
    data: 'GoEmotions ekman6 train + CARER ekman6 train (texts); Emotion6 training images as synthetic same-label pairs',
    trainer: t.trainer,
    trainTexts: train.length,
    heldOut: data.heldOutInfo,
    options: t.args,
    images: t.images,
    conditioned: { ...summary(run, cond.perplexity), lastLoss: (t.history as Array<{ loss: number }> | undefined)?.at(-1)?.loss },
    unconditionedBaseline: summary(base, baseline.perplexity),
    unigramPerplexity: unigram,
    samplerCheck: check,
    history: t.history,
  };
  await saveGenerator(values.out, cond.model, cond.words, cond.vectors, config(training));
  disposeLanguageModel(cond.model);
  const generator = await PostGenerator.load(values.out);
  for (const emotion of EMOTIONS) log(`${emotion}: ${generator.generate({ emotion, seed: 1, temperature: 0.8 }).text}`);
  log(`wrote ${path.join(values.out, GENERATOR_CONFIG_FILE)} (${version})`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
