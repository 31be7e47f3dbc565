import { EMOTION_COUNT } from '@moodstream/events';
import type { EmotionModel } from '../emotion-model';
import { fitTemperature, fitTemperatureJoint, softmaxRow } from '../calibration';
import { evaluate } from '../metrics';
import { reliabilityDiagram, type ReliabilityBin } from './reliability';
import { logitsOf, type DevDomain, type LabelledRow } from './trainer';

const K = EMOTION_COUNT;

export interface DomainCalibration {
  n: number;
  accuracy: number;
  macroF1: number;
  ece: number;
  reliability: ReliabilityBin[];
}

export interface DevCalibration {
  model: EmotionModel;
  /** Strength of the prior correction chosen on dev: text bias = -lambda * ln(class weight). */
  lambda: number;
  grid: Array<{ lambda: number; accuracy: number; macroF1: number }>;
  temperature: number;
  /** Per text domain, after calibration: the numbers and reliability diagram the fit was judged by. */
  domains: Record<string, DomainCalibration>;
}

/**
 * Calibrates a trained model on dev. (1) Class weights push decisions towards the rare classes,
 * trading accuracy for macro-F1; a text-prior correction bias = -λ·ln(w) on the logits of posts
 * with text gives back part of it, λ chosen to maximise accuracy + macro-F1 averaged over the text
 * domains. (2) The text temperature is fitted jointly over the domains (mean of each domain's NLL):
 * the scorer cannot tell which domain a post comes from, so it gets the one T that holds on all of
 * them. Image and image+text temperatures are fitted on their own dev rows (kept when there are none).
 * Without `dev.domains`, dev.text is the one domain.
 */
export async function calibrateOnDev(
  model: EmotionModel,
  dev: { text: LabelledRow[]; images: LabelledRow[]; fused: LabelledRow[]; domains?: DevDomain[] },
  textClassWeights: readonly number[],
  log: (m: string) => void = () => {},
): Promise<DevCalibration> {
  const domains: DevDomain[] = dev.domains && dev.domains.length > 0 ? dev.domains : [{ name: 'text', rows: dev.text }];
  const domainLogits = await Promise.all(domains.map((d) => logitsOf(model, d.rows)));
  const biased = (logits: Float32Array, bias: readonly number[]) => {
    const out = new Float32Array(logits.length);
    for (let i = 0; i < logits.length; i++) out[i] = logits[i]! + bias[i % K]!;
    return out;
  };
  const probsOf = (logits: Float32Array, t: number) => Array.from({ length: logits.length / K }, (_, i) => softmaxRow(logits.subarray(i * K, (i + 1) * K), t));
  const grid: DevCalibration['grid'] = [];
  for (let step = 0; step <= 30; step++) {
    const lambda = step * 0.05;
    const bias = textClassWeights.map((w) => -lambda * Math.log(w || 1));
    const evals = domains.map((d, j) => evaluate(probsOf(biased(domainLogits[j]!, bias), 1), d.rows.map((r) => r.label)));
    grid.push({ lambda, accuracy: mean(evals.map((e) => e.accuracy)), macroF1: mean(evals.map((e) => e.macroF1)) });
  }
  const best = grid.reduce((a, b) => (b.accuracy + b.macroF1 > a.accuracy + a.macroF1 + 1e-12 ? b : a));
  const textLogitBias = textClassWeights.map((w) => -best.lambda * Math.log(w || 1));
  log(`text-prior correction on dev: lambda ${best.lambda.toFixed(2)} (mean over ${domains.length} domain(s): accuracy ${grid[0]!.accuracy.toFixed(3)} → ${best.accuracy.toFixed(3)}, macro-F1 ${grid[0]!.macroF1.toFixed(3)} → ${best.macroF1.toFixed(3)})`);

  const groups = domains.map((d, j) => ({ logits: biased(domainLogits[j]!, textLogitBias), labels: d.rows.map((r) => r.label) }));
  const temperature = fitTemperatureJoint(groups, K);
  const perDomain: Record<string, DomainCalibration> = {};
  domains.forEach((d, j) => {
    const probs = probsOf(groups[j]!.logits, temperature);
    const e = evaluate(probs, groups[j]!.labels);
    perDomain[d.name] = { n: e.n, accuracy: e.accuracy, macroF1: e.macroF1, ece: e.ece, reliability: reliabilityDiagram(probs, groups[j]!.labels) };
    log(`  ${d.name} dev: accuracy ${e.accuracy.toFixed(3)} macro-F1 ${e.macroF1.toFixed(3)} ECE ${e.ece.toFixed(3)} (own-domain T would be ${fitTemperature(groups[j]!.logits, groups[j]!.labels, K).toFixed(3)})`);
  });

  // One temperature per modality mix: image-only logits are much sharper than text ones.
  const imageRows = [...dev.images, ...dev.fused];
  const imageLogits = await logitsOf(model, imageRows);
  imageRows.forEach((r, i) => {
    if (r.tokens.length > 0) for (let c = 0; c < K; c++) imageLogits[i * K + c] = imageLogits[i * K + c]! + textLogitBias[c]!;
  });
  const fitOn = (from: number, to: number) => (to > from ? fitTemperature(imageLogits.slice(from * K, to * K), imageRows.slice(from, to).map((r) => r.label), K) : undefined);
  const ni = dev.images.length;
  const previous = model.config.calibration;
  const imageTemperature = fitOn(0, ni) ?? previous.imageTemperature;
  const bothTemperature = fitOn(ni, imageRows.length) ?? previous.bothTemperature;
  log(`temperature scaling on dev: text T = ${temperature.toFixed(3)} (joint over ${domains.map((d) => d.name).join(', ')}), image T = ${imageTemperature?.toFixed(3) ?? '-'}, both T = ${bothTemperature?.toFixed(3) ?? '-'}`);
  const textPart = domains.map((d) => `${d.rows.length} ${d.name}`).join(' + ');
  const calibrated = model.withCalibration({
    temperature,
    textLogitBias,
    ...(imageTemperature !== undefined ? { imageTemperature } : {}),
    ...(bothTemperature !== undefined ? { bothTemperature } : {}),
    fittedOn: `dev splits: texts ${textPart} (text T joint over domains), ${ni} images, ${dev.fused.length} same-label image+text pairs`,
  });
  return { model: calibrated, lambda: best.lambda, grid, temperature, domains: perDomain };
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}
