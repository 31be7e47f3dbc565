/**
 * Weight-averaging CLI: `node --import tsx libs/model/src/cli/average-weights.ts --models A,B --data ../shared/data --out DIR`.
 * Averages the weights of model folders that share a graph, vocabulary and n-gram list (checkpoints of one run),
 * refits the text calibration on every text source's dev split and writes a complete model folder.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLineOrExit } from '@moodstream/core';
import { EMOTION_COUNT } from '@moodstream/events';
import { initBackend } from '../backend';
import { EmotionModel } from '../emotion-model';
import { averageModels } from '../train/average-weights';
import { calibrateOnDev } from '../train/calibrate-on-dev';
import { writeDerivedModel } from '../train/derived-model';
import { loadDevDomains } from '../train/text-sources';

const { values } = parseCommandLineOrExit({
  command: 'node --import tsx libs/model/src/cli/average-weights.ts',
  summary: 'average the weights of model folders of one graph (checkpoints of one run) and recalibrate the text path on dev',
  usage: '--models DIR,DIR[,DIR] --data DIR --out DIR [--sources LIST] [--version V]',
  options: {
    models: { type: 'string', valueName: 'LIST', required: true, description: 'model folders to average (comma list): same network, vocabulary and n-grams' },
    data: { type: 'string', valueName: 'DIR', required: true, description: 'shared data folder: the text calibration is refitted on <DIR>/<source>/ekman6_dev.tsv' },
    sources: { type: 'string', valueName: 'LIST', default: 'goemotions,carer', description: 'text sources whose dev splits calibrate (comma list)' },
    out: { type: 'string', valueName: 'DIR', required: true, description: 'the model folder to write' },
    version: { type: 'string', valueName: 'V', description: "model version (default the first model's + '-avg<N>')" },
  },
  examples: ['node --import tsx libs/model/src/cli/average-weights.ts --models models/default,/tmp/run/cand --data ../shared/data --out /tmp/avg'],
  notes: "Image temperatures are the first model's (no image rows are scored here). Progress goes to stderr.",
});

const log = (m: string) => process.stderr.write(`[average] ${m}\n`);

async function main(): Promise<void> {
  const backend = await initBackend();
  const dirs = values.models.split(',').map((d) => d.trim()).filter(Boolean);
  const models: EmotionModel[] = [];
  for (const dir of dirs) models.push(await EmotionModel.load(dir, { warmUp: false }));
  const version = values.version ?? `${models[0]!.version}-avg${models.length}`;
  const averaged = averageModels(models, version);
  log(`averaged ${dirs.length} models (${models.map((m) => m.version).join(', ')}) into ${version}`);

  const domains = await loadDevDomains(values.data, values.sources!, log);
  // The text-prior correction undoes the class weights the models were trained with (the first model's metrics.json).
  const firstMetrics = JSON.parse(await readFile(path.join(dirs[0]!, 'metrics.json'), 'utf8').catch(() => '{}')) as { classWeights?: { text?: number[] } };
  const classWeights = firstMetrics.classWeights?.text ?? new Array<number>(EMOTION_COUNT).fill(1);
  const calibration = await calibrateOnDev(averaged, { text: domains[0]!.rows, images: [], fused: [], domains }, classWeights, log);
  const model = calibration.model.withCalibration({
    ...calibration.model.config.calibration,
    fittedOn: `${calibration.model.config.calibration.fittedOn}; image temperatures of ${models[0]!.version} (not refitted)`,
  });

  const out = values.out;
  await writeDerivedModel(
    {
      out,
      model,
      calibration,
      domains,
      firstDir: dirs[0]!,
      classWeights: firstMetrics.classWeights,
      modelPhrase: 'the weight-averaged model',
      metricsHead: { averagedFrom: dirs.map((dir, i) => ({ dir, version: models[i]!.version })) },
      metricsTail: {},
      cardIntro: `The uniform weight average of ${models.map((m, i) => `\`${dirs[i]}\` (${m.version})`).join(', ')}: the same network, vocabulary and n-grams, every weight the mean of theirs. Text calibration refitted on dev (text-prior correction λ ${calibration.lambda.toFixed(2)}, joint text temperature ${calibration.temperature.toFixed(3)}); image temperatures as the first model's.`,
      cardBullets: [],
      firstCalled: 'first averaged model',
    },
    backend.name,
  );
  log(`saved ${out}`);
  for (const m of models) m.dispose();
  model.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`[average] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
