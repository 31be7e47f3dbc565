/**
 * `npm run merge-members -- --models A,B[,C] --data ../shared/data --out DIR`: one model folder whose network holds
 * the given models as members (their logits averaged in the graph), recalibrated on the dev splits as train does.
 */
import { cp, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseCommandLineOrExit, ValidationError } from '@moodstream/core';
import { EMOTION_COUNT } from '@moodstream/events';
import { initBackend } from '../backend';
import { EmotionModel } from '../emotion-model';
import { ImageBackbone, type BackboneId } from '../image/backbone';
import { calibrateOnDev } from '../train/calibrate-on-dev';
import { loadImageTrainDev, pairWithTexts } from '../train/datasets';
import { writeDerivedModel } from '../train/derived-model';
import { mergeMembers, type MergeMember } from '../train/merge-members';
import { makeRng } from '../train/rng';
import { loadDevDomains } from '../train/text-sources';
import type { LabelledRow } from '../train/trainer';

const { values } = parseCommandLineOrExit({
  command: 'npm run merge-members',
  summary: 'put trained model folders into one network as members (logits averaged in the graph) and recalibrate on dev',
  usage: '--models DIR,DIR[,DIR] --data DIR --out DIR [options]',
  options: {
    models: { type: 'string', valueName: 'LIST', required: true, description: 'model folders (comma list) with the same vocabulary, n-grams and tower shapes; the first gives the image heads' },
    data: { type: 'string', valueName: 'DIR', required: true, description: 'shared data folder: the text calibration is refitted on <DIR>/<source>/ekman6_dev.tsv' },
    sources: { type: 'string', valueName: 'LIST', default: 'goemotions,carer', description: 'text sources whose dev splits calibrate (comma list)' },
    images: { type: 'string', valueName: 'DIR', description: "image folder (e.g. <data>/emotion6/images): refit the image+text temperature on its dev images paired with dev texts, as train does (default: keep the first model's)" },
    cache: { type: 'string', valueName: 'DIR', default: '.cache', description: 'image feature cache (with --images)' },
    out: { type: 'string', valueName: 'DIR', required: true, description: 'the model folder to write' },
    version: { type: 'string', valueName: 'V', description: "model version (default the first model's + '-x<N>')" },
    'fold-temperatures': { type: 'boolean', default: false, description: "divide each member's logits by its own text temperature before the mean (measured no better on dev: docs/model.md)" },
    seed: { type: 'number', default: 1234, description: 'seed of the dev image+text pairing (with --images)' },
  },
  examples: ['npm run merge-members -- --models models/default,/tmp/h16/m7 --data ../shared/data --images ../shared/data/emotion6/images --out /tmp/h16/x2'],
  notes:
    "A member whose data-summary.json says it trained on no image (--images none) has its image weights zeroed: it scores an image+text post from the text alone. Image-only posts are scored by the first model's read-out exactly as before, with its image temperature. The first model's generator/ (a separate language model) is copied; explain/ is not (it describes one network: rerun npm run model:explain). Progress goes to stderr.",
});

const log = (m: string) => process.stderr.write(`[merge] ${m}\n`);

interface FolderMetrics {
  classWeights?: { text?: number[] };
  imageFineTune?: unknown;
  imageReadout?: unknown;
}

async function readJson<T>(file: string): Promise<T | null> {
  return existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as T) : null;
}

async function main(): Promise<void> {
  const started = Date.now();
  const backend = await initBackend();
  const dirs = values.models.split(',').map((d) => d.trim()).filter(Boolean);
  const members: MergeMember[] = [];
  for (const dir of dirs) {
    const model = await EmotionModel.load(dir, { warmUp: false });
    const summary = await readJson<{ images?: { train?: number } }>(path.join(dir, 'data-summary.json'));
    const textOnly = summary?.images?.train === 0;
    log(`${dir}: ${model.version}, text T ${model.config.calibration.temperature.toFixed(3)}, ${textOnly ? 'trained on no image (its image weights are zeroed)' : 'trained with images (or no data-summary.json)'}`);
    members.push({ model, textOnly });
  }
  const version = values.version ?? `${members[0]!.model.version}-x${members.length}`;
  const merged = mergeMembers(members, { version, foldTemperatures: values['fold-temperatures'] });
  log(`merged ${members.length} members into ${version}: ${merged.network.countParams()} parameters`);

  const domains = await loadDevDomains(values.data, values.sources, log);
  let devFused: LabelledRow[] = [];
  if (values.images) {
    if (!existsSync(values.images)) throw new ValidationError(`--images ${values.images}: no such folder`);
    const backbone = await ImageBackbone.load({ id: merged.backboneId as BackboneId });
    // Only the dev images are paired (train's are embedded too, cached, as loadImageTrainDev reads both).
    const { dev } = await loadImageTrainDev(values.images, backbone, path.join(values.cache!, 'features'));
    devFused = pairWithTexts(dev, domains[0]!.rows, makeRng(values.seed));
    backbone.dispose();
    log(`image+text temperature refitted on ${devFused.length} dev images paired with same-label ${domains[0]!.name} dev texts`);
  }
  // The text-prior correction undoes the class weights the members trained with: the first model's (same recipe).
  const firstMetrics = (await readJson<FolderMetrics>(path.join(dirs[0]!, 'metrics.json'))) ?? {};
  const classWeights = firstMetrics.classWeights?.text ?? new Array<number>(EMOTION_COUNT).fill(1);
  // No image-only rows: the image temperature stays the first model's (its read-out scores those posts unchanged).
  const calibration = await calibrateOnDev(merged, { text: domains[0]!.rows, images: [], fused: devFused, domains }, classWeights, log);
  const first = members[0]!.model;
  const model = calibration.model.withCalibration({
    ...calibration.model.config.calibration,
    fittedOn: `${calibration.model.config.calibration.fittedOn}; image-only temperature of ${first.version} (its read-out)${devFused.length === 0 ? `, image+text temperature of ${first.version} (not refitted)` : ''}`,
  });

  const out = values.out;
  const memberInfo = members.map(({ model: m, textOnly }, i) => ({ dir: dirs[i]!, version: m.version, textOnly, temperature: m.config.calibration.temperature }));
  const combine = values['fold-temperatures'] ? 'mean of the members\' logits, each divided by its own text temperature (folded into its logits layer)' : "mean of the members' logits";
  const totalSeconds = (Date.now() - started) / 1000;
  const memberLines = memberInfo.map((m, i) => `  ${i + 1}. \`${m.dir}\` (${m.version}, text T ${m.temperature.toFixed(3)}${m.textOnly ? ', trained on no image: scores image+text posts from the text' : ''})`).join('\n');
  await writeDerivedModel(
    {
      out,
      model,
      calibration,
      domains,
      firstDir: dirs[0]!,
      classWeights: firstMetrics.classWeights,
      modelPhrase: `the ${members.length}-member model`,
      metricsHead: { backendProvider: backend.provider, totalSeconds, members: memberInfo, combine },
      metricsTail: {
        ...(firstMetrics.imageFineTune ? { imageFineTune: firstMetrics.imageFineTune } : {}),
        ...(firstMetrics.imageReadout ? { imageReadout: firstMetrics.imageReadout } : {}),
      },
      cardIntro: `An ensemble inside one network: ${members.length} independently trained members over one word list, one n-gram list and one set of inputs, their logits averaged in the graph (${combine}). Image-only posts are scored by the first member's image read-out exactly as in that model. Text calibration refitted on dev (text-prior correction λ ${calibration.lambda.toFixed(2)}, joint text temperature ${calibration.temperature.toFixed(3)}).\n\n${memberLines}`,
      cardBullets: [`- Made by \`npm run merge-members\` in ${totalSeconds.toFixed(0)} s.`],
      firstCalled: 'first member',
    },
    backend.name,
  );
  if (existsSync(path.join(dirs[0]!, 'generator'))) await cp(path.join(dirs[0]!, 'generator'), path.join(out, 'generator'), { recursive: true });
  log(`saved ${out}`);
  for (const m of members) m.model.dispose();
  model.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`[merge] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
