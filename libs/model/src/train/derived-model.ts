import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { EMOTIONS } from '@moodstream/events';
import { CONFUSION_FILE } from '../confusion';
import type { EmotionModel } from '../emotion-model';
import { evaluate } from '../metrics';
import type { DevCalibration } from './calibrate-on-dev';
import { logitsOf, type DevDomain } from './trainer';

/** A model folder built from trained folders (average-weights, merge-members) and recalibrated on dev. */
export interface DerivedModel {
  out: string;
  /** The recalibrated model (calibration.model with its `fittedOn` said). */
  model: EmotionModel;
  calibration: DevCalibration;
  domains: readonly DevDomain[];
  /** The folder it was derived from first: its data summary and model card come along. */
  firstDir: string;
  /** The first model's training class weights (metrics.json), as the text-prior correction used them. */
  classWeights: unknown;
  /** What the confusion matrix is of, e.g. "the weight-averaged model". */
  modelPhrase: string;
  /** metrics.json fields after version and backend, and after the parameter count. */
  metricsHead: Record<string, unknown>;
  metricsTail: Record<string, unknown>;
  /** The model card: its opening paragraph(s), bullets after the dev line, and what the first folder was called. */
  cardIntro: string;
  cardBullets: readonly string[];
  firstCalled: string;
}

/**
 * Writes the folder: the model, the confusion matrix on the first domain's dev split, the first folder's data
 * summary, metrics.json and a model card that carries the first folder's card below its own.
 */
export async function writeDerivedModel(d: DerivedModel, backendName: string): Promise<void> {
  const { model, calibration, domains, out } = d;
  const version = model.version;
  await model.save(out);
  const devRows = domains[0]!.rows;
  const devEval = evaluate(model.calibrate(await logitsOf(model, devRows), devRows.map((r) => r.tokens.length > 0), devRows.map(() => false)), devRows.map((r) => r.label));
  await writeFile(
    path.join(out, CONFUSION_FILE),
    JSON.stringify({ labels: [...EMOTIONS], matrix: devEval.confusion, source: `${domains[0]!.name} dev split (${devRows.length} texts), text-only inputs to ${d.modelPhrase} ${version}, argmax of calibrated probabilities` }, null, 2) + '\n',
  );
  const summary = path.join(d.firstDir, 'data-summary.json');
  if (existsSync(summary)) await copyFile(summary, path.join(out, 'data-summary.json'));
  const metrics = {
    version,
    backend: backendName,
    ...d.metricsHead,
    classWeights: d.classWeights,
    temperature: calibration.temperature,
    priorCorrection: { lambda: calibration.lambda, grid: calibration.grid },
    parameters: model.network.countParams(),
    ...d.metricsTail,
    devDomainsCalibrated: calibration.domains,
    devTextCalibrated: { accuracy: devEval.accuracy, macroF1: devEval.macroF1, ece: devEval.ece, perClass: devEval.perClass },
  };
  await writeFile(path.join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
  const parentCard = await readFile(path.join(d.firstDir, 'MODEL_CARD.md'), 'utf8').catch(() => '');
  const devLine = Object.entries(calibration.domains).map(([name, e]) => `${name} accuracy ${e.accuracy.toFixed(3)}, macro-F1 ${e.macroF1.toFixed(3)}, ECE ${e.ece.toFixed(3)} (n ${e.n})`).join('; ');
  const bullets = [`- Dev per domain (text only, calibrated): ${devLine}.`, ...d.cardBullets].join('\n');
  await writeFile(
    path.join(out, 'MODEL_CARD.md'),
    `# Model ${version}\n\n${d.cardIntro}\n\n${bullets}\n\nThe card of the ${d.firstCalled} follows (its data, credits and training).\n\n${parentCard.replace(/^# /gm, '## ')}`,
  );
}
