import { EMOTION_COUNT } from '@moodstream/events';
import type { EmotionModel } from '../emotion-model';
import { fitTemperature, softmaxRow } from '../calibration';
import { evaluate } from '../metrics';
import { logitsOf, type LabelledRow } from './trainer';

const K = EMOTION_COUNT;

export interface DevCalibration {
  model: EmotionModel;
  /** Strength of the prior correction chosen on dev: text bias = -lambda * ln(class weight). */
  lambda: number;
  grid: Array<{ lambda: number; accuracy: number; macroF1: number }>;
  temperature: number;
}

/**
 * Calibrates a trained model on dev. (1) Class weights push decisions towards the rare classes,
 * trading accuracy for macro-F1; a text-prior correction bias = -λ·ln(w) on the logits of posts
 * with text gives back part of it, λ chosen on text dev to maximise accuracy + macro-F1.
 * (2) One temperature fitted by NLL on all dev rows (text, image, pairs) after the bias.
 */
export async function calibrateOnDev(
  model: EmotionModel,
  dev: { text: LabelledRow[]; images: LabelledRow[]; fused: LabelledRow[] },
  textClassWeights: readonly number[],
  log: (m: string) => void = () => {},
): Promise<DevCalibration> {
  const textLogits = await logitsOf(model, dev.text);
  const labels = dev.text.map((r) => r.label);
  const grid: DevCalibration['grid'] = [];
  for (let step = 0; step <= 30; step++) {
    const lambda = step * 0.05;
    const probs = labels.map((_, i) => softmaxRow(Array.from({ length: K }, (__, c) => textLogits[i * K + c]! - lambda * Math.log(textClassWeights[c]! || 1))));
    const e = evaluate(probs, labels);
    grid.push({ lambda, accuracy: e.accuracy, macroF1: e.macroF1 });
  }
  const best = grid.reduce((a, b) => (b.accuracy + b.macroF1 > a.accuracy + a.macroF1 + 1e-12 ? b : a));
  const textLogitBias = textClassWeights.map((w) => -best.lambda * Math.log(w || 1));
  log(`text-prior correction on dev: lambda ${best.lambda.toFixed(2)} (accuracy ${grid[0]!.accuracy.toFixed(3)} → ${best.accuracy.toFixed(3)}, macro-F1 ${grid[0]!.macroF1.toFixed(3)} → ${best.macroF1.toFixed(3)})`);

  const all = [...dev.text, ...dev.images, ...dev.fused];
  const logits = await logitsOf(model, all);
  all.forEach((r, i) => {
    if (r.tokens.length > 0) for (let c = 0; c < K; c++) logits[i * K + c] = logits[i * K + c]! + textLogitBias[c]!;
  });
  // One temperature per modality mix: image-only logits are much sharper than text ones.
  const fitOn = (from: number, to: number) => (to > from ? fitTemperature(logits.slice(from * K, to * K), all.slice(from, to).map((r) => r.label), K) : undefined);
  const nt = dev.text.length;
  const ni = dev.images.length;
  const temperature = fitOn(0, nt) ?? 1;
  const imageTemperature = fitOn(nt, nt + ni);
  const bothTemperature = fitOn(nt + ni, all.length);
  log(`temperature scaling on dev: text T = ${temperature.toFixed(3)}, image T = ${imageTemperature?.toFixed(3) ?? '-'}, both T = ${bothTemperature?.toFixed(3) ?? '-'}`);
  const calibrated = model.withCalibration({
    temperature,
    textLogitBias,
    ...(imageTemperature !== undefined ? { imageTemperature } : {}),
    ...(bothTemperature !== undefined ? { bothTemperature } : {}),
    fittedOn: `dev split: ${nt} texts, ${ni} images, ${all.length - nt - ni} same-label image+text pairs`,
  });
  return { model: calibrated, lambda: best.lambda, grid, temperature };
}
