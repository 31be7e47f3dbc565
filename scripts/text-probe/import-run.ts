/**
 * A text-probe run as a model folder the project loads, calibrates, evaluates and scores:
 *   node --import tsx scripts/text-probe/import-run.ts --run RUN --from models/default --data ../shared/data \
 *     [--images ../shared/data/emotion6/images] --out DIR
 * RUN/export.bin comes from `probe.py export --run RUN --out RUN/export.bin`. The network is buildNetwork's with the
 * run's text tower (probe-export.ts), the word vectors are the run's tuned ones (written int8 per row as vocab.bin),
 * the calibration is refitted on the dev splits (calibrateOnDev) and the folder written by writeDerivedModel, as
 * `npm run merge-members` does. Before calibrating, the converted network's GoEmotions dev logits are compared with
 * the Keras logits the export carries, with float and with int8 vectors: the figures go to metrics.json.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseCommandLineOrExit, ValidationError } from '@moodstream/core';
import { EMOTION_COUNT } from '@moodstream/events';
import { EmotionModel, ImageBackbone, initBackend, type BackboneId } from '@moodstream/model';
// Training internals of libs/model (not in its index), used as npm run merge-members uses them.
import { calibrateOnDev } from '../../libs/model/src/train/calibrate-on-dev';
import { loadImageTrainDev, pairWithTexts } from '../../libs/model/src/train/datasets';
import { writeDerivedModel } from '../../libs/model/src/train/derived-model';
import { makeRng } from '../../libs/model/src/train/rng';
import { loadDevDomains } from '../../libs/model/src/train/text-sources';
import { logitsOf, type LabelledRow } from '../../libs/model/src/train/trainer';
import { asStored, importProbeNetwork, readProbeExport } from './probe-export';
import { compareLogits } from './compare-logits';

const { values } = parseCommandLineOrExit({
  command: 'node --import tsx scripts/text-probe/import-run.ts',
  summary: 'turn a text-probe run (probe.py export) into a model folder: shipped image branch, run text tower, dev calibration',
  usage: '--run RUN --from DIR --data DIR --out DIR [options]',
  options: {
    run: { type: 'string', valueName: 'RUN', required: true, description: 'probe run folder (its export file, RUN/export.bin, unless --export)' },
    export: { type: 'string', valueName: 'FILE', description: 'the export file (default RUN/export.bin)' },
    from: { type: 'string', valueName: 'DIR', default: 'models/default', description: 'model folder whose image branch, heads, word list, n-gram list and preprocessing are kept' },
    data: { type: 'string', valueName: 'DIR', required: true, description: 'shared data folder: calibration on <DIR>/<source>/ekman6_dev.tsv' },
    sources: { type: 'string', valueName: 'LIST', default: 'goemotions,carer', description: 'text sources whose dev splits calibrate (comma list; the first is compared with the Keras logits)' },
    images: { type: 'string', valueName: 'DIR', description: "image folder (e.g. <data>/emotion6/images): refit the image+text temperature on its dev images paired with dev texts (default: keep --from's)" },
    cache: { type: 'string', valueName: 'DIR', default: '.cache', description: 'image feature cache (with --images)' },
    out: { type: 'string', valueName: 'DIR', required: true, description: 'the model folder to write' },
    version: { type: 'string', valueName: 'V', description: "model version (default --from's + '-probe-<run folder name>')" },
    'allow-sigmoid': { type: 'boolean', default: false, description: 'import a run trained with sigmoid LSTM gates (its tfjs logits differ from Keras): for a comparison only' },
    seed: { type: 'number', default: 1234, description: 'seed of the dev image+text pairing (with --images)' },
  },
  examples: [
    '.venv-text-probe/bin/python scripts/text-probe/probe.py export --tokens /tmp/h16p/tokens --run /tmp/h16c/runs/r --out /tmp/h16c/runs/r/export.bin',
    'node --import tsx scripts/text-probe/import-run.ts --run /tmp/h16c/runs/r --from models/default --data ../shared/data --images ../shared/data/emotion6/images --out /tmp/h16c/model',
  ],
  notes:
    "The run must have been trained on --from's token ids (export-tokens.ts --model) with --recurrent-activation tfjs-hard-sigmoid. Image-only posts are scored by --from's image-only read-out with its image temperature, exactly as before; the fusion's image rows are zeroed (the run never saw an image). --from's generator/ is not copied; explain/ is not either (rerun npm run model:explain). Progress goes to stderr.",
});

const log = (m: string) => process.stderr.write(`[import-run] ${m}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const backend = await initBackend();
  const exportFile = values.export ?? path.join(values.run, 'export.bin');
  if (!existsSync(exportFile)) throw new ValidationError(`${exportFile}: no such file (probe.py export --run ${values.run} --out ${exportFile})`);
  const exp = readProbeExport(await readFile(exportFile));
  const shipped = await EmotionModel.load(values.from, { warmUp: false });
  const imported = importProbeNetwork(shipped, exp, { allowSigmoid: values['allow-sigmoid'] });
  const s = exp.header.settings;
  log(`${exp.header.run}: ${s.rnn}(${s.units}), gates ${s.recurrentActivation}; ${imported.fromRun} weight tensors from the run, ${imported.fromShipped} from ${shipped.version}`);
  // The run folder's name, not the name stored in the run: runs trained without --name all store "probe", and two
  // candidates sharing a version would be indistinguishable on the chart and to the hot swap.
  const version = values.version ?? `${shipped.version}-probe-${path.basename(path.resolve(values.run))}`;
  const config = { ...shipped.config, version, network: imported.config };
  const stored = asStored(imported.vocab);
  const asFloat = new EmotionModel(config, imported.network, imported.vocab, shipped.bow);
  const model = new EmotionModel(config, imported.network, stored, shipped.bow);

  const domains = await loadDevDomains(values.data, values.sources, log);
  const checkRows = domains[0]!.rows;
  const kerasLogits = exp.tensor('check/goemotions_dev_logits', [checkRows.length, EMOTION_COUNT]);
  const labels = checkRows.map((r) => r.label);
  // tfjs masks a word whose vector is all zeros (Masking on the looked-up rows); Keras masked id 0 only.
  const zeroWordRows = Array.from({ length: stored.size - 1 }, (_, i) => i + 1).filter((r) => stored.vectors.subarray(r * stored.dim, (r + 1) * stored.dim).every((v) => v === 0)).length;
  if (zeroWordRows > 0) log(`warning: ${zeroWordRows} word rows are all zeros in vocab.bin: tfjs masks those words, Keras did not`);
  const check = {
    rows: checkRows.length,
    zeroWordRows,
    floatVectors: compareLogits(await logitsOf(asFloat, checkRows), kerasLogits, labels),
    int8Vectors: compareLogits(await logitsOf(model, checkRows), kerasLogits, labels),
  };
  const line = (name: string, c: ReturnType<typeof compareLogits>) =>
    `${name}: max |Δlogit| ${c.maxAbsDiff.toExponential(2)} (mean ${c.meanAbsDiff.toExponential(2)}), argmax agrees on ${c.argmaxAgree} of ${check.rows}, raw dev accuracy ${c.accuracy.toFixed(4)} vs Keras ${c.kerasAccuracy.toFixed(4)}`;
  log(`tfjs vs Keras on ${domains[0]!.name} dev — ${line('float vectors', check.floatVectors)}`);
  log(`tfjs vs Keras on ${domains[0]!.name} dev — ${line('int8 vectors (vocab.bin)', check.int8Vectors)}`);

  let devFused: LabelledRow[] = [];
  if (values.images) {
    if (!existsSync(values.images)) throw new ValidationError(`--images ${values.images}: no such folder`);
    const backbone = await ImageBackbone.load({ id: model.backboneId as BackboneId });
    const { dev } = await loadImageTrainDev(values.images, backbone, path.join(values.cache!, 'features'));
    devFused = pairWithTexts(dev, checkRows, makeRng(values.seed));
    backbone.dispose();
    log(`image+text temperature refitted on ${devFused.length} dev images paired with same-label ${domains[0]!.name} dev texts`);
  }
  // The text-prior correction undoes the class weights the run trained with (probe.py's, the trainer.ts recipe).
  const calibration = await calibrateOnDev(model, { text: checkRows, images: [], fused: devFused, domains }, exp.header.classWeights, log);
  const calibrated = calibration.model.withCalibration({
    ...calibration.model.config.calibration,
    fittedOn: `${calibration.model.config.calibration.fittedOn}; image-only temperature of ${shipped.version} (its read-out)${devFused.length === 0 ? `, image+text temperature of ${shipped.version} (not refitted)` : ''}`,
  });
  const totalSeconds = (Date.now() - started) / 1000;
  const fromMetrics = existsSync(path.join(values.from, 'metrics.json')) ? (JSON.parse(await readFile(path.join(values.from, 'metrics.json'), 'utf8')) as Record<string, unknown>) : {};
  await writeDerivedModel(
    {
      out: values.out,
      model: calibrated,
      calibration,
      domains,
      firstDir: values.from,
      classWeights: { text: exp.header.classWeights },
      modelPhrase: 'the imported probe model',
      metricsHead: { backendProvider: backend.provider, totalSeconds, probeRun: { dir: values.run, name: exp.header.run, settings: s, probeDevCalibrated: exp.header.probeDevCalibrated } },
      metricsTail: {
        conversionCheck: check,
        ...(fromMetrics.imageFineTune ? { imageFineTune: fromMetrics.imageFineTune } : {}),
        ...(fromMetrics.imageReadout ? { imageReadout: fromMetrics.imageReadout } : {}),
      },
      cardIntro: `A text model trained natively (scripts/text-probe/probe.py run \`${exp.header.run}\`: ${s.rnn === 'bilstm' ? 'BiLSTM' : 'LSTM'}(${s.units}), trainable word vectors, tfjs hard-sigmoid gates) in the network of ${shipped.version}: its image branch, image skip head and image-only read-out are kept, the fusion's image rows zeroed (the run never saw an image). Text calibration refitted on dev (text-prior correction λ ${calibration.lambda.toFixed(2)}, joint text temperature ${calibration.temperature.toFixed(3)}).`,
      cardBullets: [
        `- Made by scripts/text-probe/import-run.ts in ${totalSeconds.toFixed(0)} s. Converted vs Keras logits on ${domains[0]!.name} dev: max |Δ| ${check.int8Vectors.maxAbsDiff.toExponential(2)} with the int8 vectors (${check.floatVectors.maxAbsDiff.toExponential(2)} with float ones).`,
      ],
      firstCalled: `model it was imported into (${shipped.version})`,
    },
    backend.name,
  );
  log(`saved ${values.out} (${version}) in ${totalSeconds.toFixed(0)} s`);
  shipped.dispose();
  model.dispose();
}

main().catch((error: unknown) => {
  process.stderr.write(`[import-run] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
