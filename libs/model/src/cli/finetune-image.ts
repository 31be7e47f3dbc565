/**
 * Runs the image-branch fine-tune (phase 2 of `npm run train`) on an already trained model folder:
 *   node --import tsx libs/model/src/cli/finetune-image.ts --model DIR --data ../shared/data [--out DIR] [--epochs 40]
 *     [--image-readout logreg [--readout-lambdas 0.3,0.1,...] [--readout-folds 5] [--readout-soft-labels 0.3]]
 * Text-only predictions are unchanged (only the image Dense layer / image skip head train); the temperature is re-fitted on dev.
 * `--image-readout logreg` then refits the image skip head as an L2 logistic regression on train+dev images,
 * λ chosen by k-fold CV inside those images (the held-out test fifth is never read).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseCommandLineOrExit } from '@moodstream/core';
import { EMOTIONS } from '@moodstream/events';
import { initBackend } from '../backend';
import { EmotionModel } from '../emotion-model';
import { ImageBackbone, type BackboneId } from '../image/backbone';
import { evaluate } from '../metrics';
import { CONFUSION_FILE } from '../confusion';
import { textTokens } from '../text/preprocess';
import { readTextTsv } from '../train/data';
import { loadAugmentedImageTrain, loadImageTrainDev, pairWithTexts } from '../train/datasets';
import { fineTuneImageBranch, withImageOnlyReadout, withImageSkipHead } from '../train/image-finetune';
import { fitImageReadoutHead } from '../train/image-readout-head';
import { readCrowdVotes } from '../train/image-readout';
import { logitsOf, type LabelledRow } from '../train/trainer';
import { calibrateOnDev } from '../train/calibrate-on-dev';
import { makeRng } from '../train/rng';
import { writeModelCard } from '../train/model-card';

const { values } = parseCommandLineOrExit({
  command: 'node --import tsx libs/model/src/cli/finetune-image.ts',
  summary: "re-run the image-branch fine-tune (phase 2 of npm run train) on a trained model folder; text-only predictions are unchanged, the temperature is re-fitted on dev",
  usage: '--model DIR [--data DIR] [--out DIR] [options]',
  options: {
    model: { type: 'string', valueName: 'DIR', required: true, description: 'the trained model folder' },
    data: { type: 'string', valueName: 'DIR', default: '../shared/data', description: 'shared data folder (GoEmotions texts, Emotion6 images)' },
    out: { type: 'string', valueName: 'DIR', description: 'where to write the tuned model (default: over --model)' },
    cache: { type: 'string', valueName: 'DIR', default: '.cache', description: 'image feature cache' },
    epochs: { type: 'number', default: 20, description: 'fine-tune epochs' },
    seed: { type: 'number', default: 1234, description: 'random seed' },
    // Off by default: on dev (161 images) it did not help (image+fused macro-F1 0.572 without, 0.568 with).
    'augment-images': { type: 'boolean', default: false, description: 'add augmented views of the training images' },
    'image-readout': { type: 'string', valueName: 'KIND', default: 'none', choices: ['none', 'logreg'], description: 'then refit the image-only head as an L2 logistic regression on train+dev images (logreg)' },
    'readout-lambdas': { type: 'string', valueName: 'LIST', default: '1,0.3,0.1,0.03,0.01,0.003', description: 'L2 strengths the read-out picks from by cross-validation (comma list)' },
    'readout-folds': { type: 'number', default: 5, description: "folds of the read-out's cross-validation" },
    'readout-steps': { type: 'number', default: 300, description: "full-batch steps of the read-out's fit" },
    'readout-soft-labels': { type: 'number', default: 0, description: "weight of Emotion6's crowd vote distribution in the read-out's targets" },
  },
});
const log = (m: string) => process.stderr.write(`[finetune-image] ${m}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const out = values.out ?? values.model;
  const backend = await initBackend();
  log(`backend: ${backend.name}`);
  const model = withImageSkipHead(await EmotionModel.load(values.model));
  const seed = values.seed;
  const rng = makeRng(seed);
  const toRows = (rows: Array<{ text: string; label: number }>): LabelledRow[] => rows.map((t) => ({ tokens: textTokens(t.text), imageFeatures: null, label: t.label }));
  const textTrain = toRows(await readTextTsv(path.join(values.data!, 'goemotions', 'ekman6_train.tsv')));
  const textDev = toRows(await readTextTsv(path.join(values.data!, 'goemotions', 'ekman6_dev.tsv')));
  const backbone = await ImageBackbone.load({ id: model.backboneId as BackboneId });
  const images = await loadImageTrainDev(path.join(values.data!, 'emotion6', 'images'), backbone, path.join(values.cache!, 'features'));
  const augmented = !values['augment-images'] ? [] : await loadAugmentedImageTrain(path.join(values.data!, 'emotion6', 'images'), backbone, path.join(values.cache!, 'features'));
  backbone.dispose();
  const trainImages = [...images.train, ...augmented];
  log(`image fine-tune rows: ${images.train.length} train images + ${augmented.length} augmented views`);
  const devFused = pairWithTexts(images.dev, textDev, rng);
  const result = await fineTuneImageBranch(
    model,
    { images: trainImages, pairs: () => pairWithTexts(images.train, textTrain, rng), devImages: images.dev, devFused },
    { epochs: values.epochs, patience: 5, batchSize: 64, learningRate: 0.0005, featureDropout: 0.5, seed, log },
  );
  if (values['image-readout'] !== 'none' && values['image-readout'] !== 'logreg') throw new Error(`--image-readout must be none or logreg, got '${values['image-readout']}'`);
  const useReadout = values['image-readout'] === 'logreg';
  const scored = useReadout ? withImageOnlyReadout(model) : model;
  const readout = !useReadout
    ? undefined
    : await fitImageReadoutHead(scored, [...images.train, ...images.dev], [...images.trainIds, ...images.devIds], await readCrowdVotes(path.join(values.data!, 'emotion6', 'ground_truth.tsv')), {
          lambdas: values['readout-lambdas']!.split(',').map((v) => {
            const n = Number(v);
            if (!(n >= 0)) throw new Error(`--readout-lambdas: '${v}' is not a non-negative number`);
            return n;
          }),
          folds: values['readout-folds'],
          steps: values['readout-steps'],
          learningRate: 0.02,
          softLabelWeight: values['readout-soft-labels'],
          log,
        });
  const metrics = JSON.parse(await readFile(path.join(values.model, 'metrics.json'), 'utf8'));
  const calibration = await calibrateOnDev(scored, { text: textDev, images: images.dev, fused: devFused }, metrics.classWeights.text as number[], log);
  const fitted = calibration.model;
  // With the read-out the dev images are training rows: their image temperature would be far too sharp.
  const tuned = readout ? fitted.withCalibration({ ...fitted.config.calibration, imageTemperature: readout.imageTemperature, fittedOn: `${fitted.config.calibration.fittedOn}; image-only temperature from ${readout.folds}-fold out-of-fold read-out logits` }) : fitted;
  const temperature = calibration.temperature;
  await tuned.save(out);
  const devEval = evaluate(tuned.calibrate(await logitsOf(tuned, textDev), textDev.map((r) => r.tokens.length > 0), textDev.map((r) => r.imageFeatures !== null)), textDev.map((r) => r.label));
  await writeFile(
    path.join(out, CONFUSION_FILE),
    JSON.stringify({ labels: [...EMOTIONS], matrix: devEval.confusion, source: `GoEmotions ekman6 dev split (${textDev.length} texts), text-only inputs to the fused model ${tuned.version}, argmax of calibrated probabilities` }, null, 2) + '\n',
  );
  metrics.temperature = temperature;
  metrics.priorCorrection = { lambda: calibration.lambda, grid: calibration.grid };
  metrics.imageFineTune = { ...result, seconds: (Date.now() - started) / 1000 };
  if (readout) metrics.imageReadout = { method: 'image-only posts scored by an L2 multinomial logistic regression on standardised backbone features (full batch, train+dev images, λ by k-fold CV); fusion head unchanged for text and image+text posts', ...readout };
  else delete metrics.imageReadout;
  metrics.trainSeconds += (Date.now() - started) / 1000;
  metrics.devTextCalibrated = { accuracy: devEval.accuracy, macroF1: devEval.macroF1, ece: devEval.ece, perClass: devEval.perClass };
  await writeFile(path.join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  const summary = JSON.parse(await readFile(path.join(values.model, 'data-summary.json'), 'utf8'));
  if (out !== values.model) await writeFile(path.join(out, 'data-summary.json'), JSON.stringify(summary, null, 2) + '\n');
  await writeModelCard(out, { version: tuned.version, backboneId: tuned.backboneId, summary, metrics });
  log(`saved ${out}`);
  tuned.dispose();
}

main().catch((e: unknown) => {
  process.stderr.write(`[finetune-image] failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
