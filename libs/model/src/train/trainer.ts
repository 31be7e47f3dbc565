import * as tf from '@tensorflow/tfjs';
import { EMOTION_COUNT, EMOTIONS } from '@moodstream/events';
import { EmotionModel } from '../emotion-model';
import { MODEL_FORMAT, type ModelConfig } from '../model-config';
import { buildNetwork, type NetworkConfig } from '../network';
import { BagOfWords } from '../text/bag-of-words';
import { EMOTION_HASHTAGS } from '../text/preprocess';
import { Vocabulary } from '../text/vocabulary';
import { evaluate, type Evaluation } from '../metrics';
import { softmaxRow } from '../calibration';
import type { RowInput } from '../encode';
import { ProgressBar } from './progress';
import { makeRng, shuffleInPlace } from './rng';

const K = EMOTION_COUNT;

/** One labelled training/evaluation row (text tokens already preprocessed). */
export interface LabelledRow extends RowInput {
  label: number;
  /** Index of the text source (TrainingSets.sourceWeights) the row came from; 0 when absent. */
  source?: number;
  /** Target distribution (K, sums to 1) instead of the one-hot label: distillation (teacher-targets.ts). Class weights still follow `label`. */
  soft?: number[];
}

/** One domain's dev split: model selection averages over domains, so a gain on one cannot hide a loss on another. */
export interface DevDomain {
  name: string;
  rows: LabelledRow[];
}

export interface TrainingSets {
  /** Text-only rows (GoEmotions). */
  text: LabelledRow[];
  /** Image-only rows (Emotion6 train part), features precomputed. */
  images: LabelledRow[];
  /** Real image+text posts (ingester archive), both modalities when present. */
  posts: LabelledRow[];
  /** Weight of each text source (indexed by LabelledRow.source); class weights are computed within each source. Default [1]. */
  sourceWeights?: number[];
  /** dev.text is the primary domain (history's `text`); dev.domains, when given, are every text domain's dev split. */
  dev: { text: LabelledRow[]; images: LabelledRow[]; fused: LabelledRow[]; domains?: DevDomain[] };
}

export interface TrainOptions {
  version: string;
  backboneId: string;
  featureDim: number;
  imageInputSize: number;
  maxLen: number;
  network: Omit<NetworkConfig, 'embeddingDim' | 'bowSize' | 'imageFeatureDim' | 'classes' | 'seed'>;
  bowMinCount: number;
  bowMaxFeatures: number;
  epochs: number;
  /** Early stopping: evaluations on dev without a macro-F1 gain before training stops. */
  patience: number;
  /** Dev evaluations per epoch (the n-gram branch can overfit within one epoch). */
  evalsPerEpoch?: number;
  /**
   * Early-stopping criterion: pooled dev macro-F1 (all modalities), text dev accuracy + macro-F1, or
   * accuracy + macro-F1 averaged over the text domains' dev splits (dev.domains).
   */
  selection?: 'pooledMacroF1' | 'textAccuracyPlusMacroF1' | 'domainAccuracyPlusMacroF1';
  /** Start from this model's network weights, vocabulary and n-grams (fine-tuning: the learn loop). */
  init?: EmotionModel;
  /**
   * With `init`: append the n-grams of these texts that the parent's list lacks (seen in ≥ minCount texts, the
   * most frequent maxNew), their n-gram weights starting at zero. A warm start otherwise sees a new domain only
   * through n-grams fitted on the old one.
   */
  growBow?: { texts: ReadonlyArray<readonly string[]>; minCount: number; maxNew: number };
  /** With `init`: L2 pull towards the parent's weights (L2-SP), anchor · Σ‖w − w_parent‖² added to the loss (grown n-gram rows are not pulled). */
  anchor?: number;
  /** From this (fractional) epoch on, snapshots at each evaluation are averaged and the average is a candidate too. */
  swaStartEpoch?: number;
  batchSize: number;
  learningRate: number;
  /** Class weight = (mean count / class count) ^ power, per source; 0 = unweighted, 1 = fully balanced. */
  classWeightPower: number;
  /** How many times each training image appears per epoch, image-only and paired with a same-label text. */
  imageRepeats: number;
  pairRepeats: number;
  /** Modality dropout on paired rows and posts. */
  dropTextProbability: number;
  dropImageProbability: number;
  seed: number;
  /** Stop after this many seconds of training (the best epoch so far is kept). */
  maxSeconds?: number;
  log?: (message: string) => void;
}

export interface EpochRecord {
  /** Fractional epoch at which dev was evaluated. */
  epoch: number;
  loss: number;
  seconds: number;
  /** The early-stopping criterion's value. */
  score: number;
  dev: {
    text: Pick<Evaluation, 'accuracy' | 'macroF1'>;
    image: Pick<Evaluation, 'accuracy' | 'macroF1'>;
    fused: Pick<Evaluation, 'accuracy' | 'macroF1'>;
    pooledMacroF1: number;
    domains?: Record<string, Pick<Evaluation, 'accuracy' | 'macroF1'>>;
  };
}

export interface TrainResult {
  model: EmotionModel;
  history: EpochRecord[];
  bestEpoch: number;
  bestIsAverage: boolean;
  trainSeconds: number;
  /** text: class weights of the first source (the text-prior correction undoes them); bySource: every source's, times its weight. */
  classWeights: { text: number[]; images: number[]; bySource?: number[][] };
}

function classWeights(rows: readonly LabelledRow[], power: number): number[] {
  const counts = new Array<number>(K).fill(0);
  rows.forEach((r) => counts[r.label]!++);
  const present = counts.filter((c) => c > 0);
  const mean = present.reduce((a, b) => a + b, 0) / Math.max(1, present.length);
  return counts.map((c) => (c === 0 ? 0 : Math.pow(mean / c, power)));
}

function effectiveClassWeights(rows: readonly LabelledRow[], wBySource: number[][]): number[] {
  const sum = new Array<number>(K).fill(0);
  const count = new Array<number>(K).fill(0);
  for (const r of rows) {
    sum[r.label]! += (wBySource[r.source ?? 0] ?? wBySource[0]!)[r.label]!;
    count[r.label]!++;
  }
  return sum.map((s, c) => (count[c] === 0 ? 0 : s / count[c]!));
}

/** Rows for one epoch: text, image-only, same-label text+image pairs and posts, with modality dropout. */
function epochRows(sets: TrainingSets, o: TrainOptions, rng: () => number, wBySource: number[][], wImage: number[]): Array<LabelledRow & { weight: number }> {
  const wText = wBySource[0]!;
  const rows: Array<LabelledRow & { weight: number }> = sets.text.map((r) => ({ ...r, weight: wBySource[r.source ?? 0]![r.label]! }));
  const textsByLabel = Array.from({ length: K }, (_, c) => sets.text.filter((r) => r.label === c));
  for (let rep = 0; rep < o.imageRepeats; rep++) for (const im of sets.images) rows.push({ ...im, tokens: [], weight: wImage[im.label]! });
  for (let rep = 0; rep < o.pairRepeats; rep++) {
    for (const im of sets.images) {
      const pool = textsByLabel[im.label]!;
      if (pool.length === 0) continue;
      const text = pool[Math.floor(rng() * pool.length)]!;
      rows.push(dropModality({ tokens: text.tokens, imageFeatures: im.imageFeatures, label: im.label, weight: wImage[im.label]! }, o, rng));
    }
  }
  for (const post of sets.posts) rows.push(dropModality({ ...post, weight: (wBySource[post.source ?? 0] ?? wText)[post.label]! }, o, rng));
  return rows;
}

function dropModality<T extends LabelledRow>(row: T, o: TrainOptions, rng: () => number): T {
  if (row.imageFeatures === null || row.tokens.length === 0) return row;
  const u = rng();
  if (u < o.dropTextProbability) return { ...row, tokens: [] };
  if (u < o.dropTextProbability + o.dropImageProbability) return { ...row, imageFeatures: null };
  return row;
}

/** Batches of similar length (sorted inside shuffled chunks) so padding — and LSTM time — stays small. */
function lengthBucketedBatches<T extends RowInput>(rows: T[], batchSize: number, rng: () => number): T[][] {
  shuffleInPlace(rows, rng);
  const chunk = batchSize * 50;
  const batches: T[][] = [];
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk).sort((a, b) => a.tokens.length - b.tokens.length);
    for (let j = 0; j < part.length; j += batchSize) batches.push(part.slice(j, j + batchSize));
  }
  return shuffleInPlace(batches, rng);
}

/** Logits for labelled rows in batches. */
export async function logitsOf(model: EmotionModel, rows: readonly RowInput[], batchSize = 256): Promise<Float32Array> {
  const out = new Float32Array(rows.length * K);
  const sorted = rows.map((r, i) => ({ r, i })).sort((a, b) => a.r.tokens.length - b.r.tokens.length);
  for (let s = 0; s < sorted.length; s += batchSize) {
    const part = sorted.slice(s, s + batchSize);
    const { logits } = await model.logits(part.map((p) => p.r));
    part.forEach((p, j) => out.set(logits.subarray(j * K, (j + 1) * K), p.i * K));
  }
  return out;
}

export function probabilitiesOf(logits: Float32Array, temperature: number): number[][] {
  const n = logits.length / K;
  return Array.from({ length: n }, (_, i) => softmaxRow(logits.subarray(i * K, (i + 1) * K), temperature));
}

/**
 * Trains the fused network: Adam on class-weighted cross-entropy over mixed text / image / paired
 * rows, early stopping on pooled dev macro-F1 (best weights kept). Calibration is a separate step (calibrateOnDev).
 */
export async function trainEmotionModel(sets: TrainingSets, rawVocab: Vocabulary, o: TrainOptions): Promise<TrainResult> {
  // Train on the int8 vectors that will be shipped, so a saved-and-loaded model scores exactly alike.
  const vocab = o.init ? o.init.vocab : Vocabulary.decode(rawVocab.encode());
  const log = o.log ?? (() => {});
  const started = Date.now();
  tf.util.assert(sets.text.length + sets.images.length + sets.posts.length > 0, () => 'no training rows');
  const bow = o.init ? grownBow(o.init.bow, o.growBow) : o.bowMaxFeatures > 0 ? BagOfWords.fit([...sets.text, ...sets.posts].map((r) => r.tokens), o.bowMinCount, o.bowMaxFeatures) : null;
  const network: NetworkConfig = o.init ? { ...o.init.config.network, bowSize: bow?.size ?? 0 } : {
    ...o.network,
    embeddingDim: vocab.dim,
    bowSize: bow?.size ?? 0,
    imageFeatureDim: o.featureDim,
    classes: K,
    seed: o.seed,
  };
  const config: ModelConfig = {
    format: MODEL_FORMAT,
    version: o.version,
    labels: [...EMOTIONS],
    backboneId: o.backboneId,
    featureDim: o.featureDim,
    preprocessing: {
      maxLen: o.maxLen,
      lowercase: true,
      emotionHashtagsRemoved: EMOTION_HASHTAGS.map((h) => `#${h}`),
      emojiAsTokens: true,
      emoticonsAsTokens: true,
      image: { inputSize: o.imageInputSize, resize: 'shorter side to inputSize, centre crop', scale: 'RGB / 255' },
    },
    network: { ...network, imageSkipHead: network.imageSkipHead ?? false, imageOnlyReadout: network.imageOnlyReadout ?? false },
    // A fine-tune keeps the image calibration of its parent (no image rows train here); text is refitted after.
    calibration: o.init
      ? { ...o.init.config.calibration, temperature: 1, fittedOn: 'not yet fitted', textLogitBias: new Array<number>(K).fill(0) }
      : { method: 'temperature', temperature: 1, fittedOn: 'not yet fitted', textLogitBias: new Array<number>(K).fill(0) },
  };
  const model = new EmotionModel(config, buildNetwork(config.network), vocab, bow);
  if (o.init) {
    const parent = o.init.network.getWeights();
    const padded = padBowKernel(parent, model.network.getWeights());
    model.network.setWeights(padded);
    tf.dispose(padded.filter((w, i) => w !== parent[i]));
  }
  log(`network: ${model.network.countParams()} parameters, bag-of-words ${bow?.size ?? 0} n-grams${o.init && bow && o.init.bow && bow.size > o.init.bow.size ? ` (${bow.size - o.init.bow.size} new)` : ''}, vocabulary ${vocab.size}`);
  const trainable = model.network.trainableWeights.map((w) => w.read() as tf.Variable);
  // Anchored to the parent's own values: grown n-gram rows (beyond the parent's kernel) are free to learn.
  const anchors = o.init && (o.anchor ?? 0) > 0 ? o.init.network.trainableWeights.map((w) => (w.read() as tf.Tensor).clone()) : [];
  tf.util.assert(anchors.length === 0 || anchors.length === trainable.length, () => 'anchor: parent and network differ in trainable weights');
  const anchored = (v: tf.Variable, a: tf.Tensor): tf.Tensor => (tf.util.arraysEqual(v.shape, a.shape) ? v : tf.slice(v, new Array<number>(a.rank).fill(0), a.shape));
  const optimizer = tf.train.adam(o.learningRate);
  // Class weights within each source (a source's label mix is its own), scaled by the source's weight.
  const sourceWeights = sets.sourceWeights ?? [1];
  const bySourceRows = sourceWeights.map(() => [] as LabelledRow[]);
  for (const r of [...sets.text, ...sets.posts]) (bySourceRows[r.source ?? 0] ?? bySourceRows[0]!).push(r);
  const wBySource = sourceWeights.map((sw, s) => classWeights(bySourceRows[s]!, o.classWeightPower).map((w) => w * sw));
  // The mean weight a row of each class got: what the text-prior correction (calibrateOnDev) undoes. One source: its weights.
  const wText = effectiveClassWeights([...sets.text, ...sets.posts], wBySource);
  const wImage = classWeights(sets.images, o.classWeightPower);
  const rng = makeRng(o.seed);
  const history: EpochRecord[] = [];
  let best = { score: -1, epoch: 0, weights: [] as tf.Tensor[], evals: 0, averaged: false };
  const domains = sets.dev.domains ?? [];
  const devRows = [...sets.dev.text, ...sets.dev.images, ...sets.dev.fused, ...domains.flatMap((d) => d.rows)];

  const swa = { count: 0, weights: [] as tf.Tensor[] };
  const selection = o.selection ?? 'pooledMacroF1';
  const evaluateDev = async (at: number, loss: number, seconds: number): Promise<EpochRecord> => {
    const probs = probabilitiesOf(await logitsOf(model, devRows), 1);
    const labels = devRows.map((r) => r.label);
    const slice = (from: number, to: number) => evaluate(probs.slice(from, to), labels.slice(from, to));
    const nt = sets.dev.text.length;
    const ni = sets.dev.images.length;
    const nf = sets.dev.fused.length;
    const text = pick(slice(0, nt));
    const pooledMacroF1 = evaluate(probs.slice(0, nt + ni + nf), labels.slice(0, nt + ni + nf)).macroF1;
    const perDomain: Record<string, Pick<Evaluation, 'accuracy' | 'macroF1'>> = {};
    let from = nt + ni + nf;
    for (const d of domains) {
      perDomain[d.name] = pick(slice(from, from + d.rows.length));
      from += d.rows.length;
    }
    const domainScores = Object.values(perDomain).map((e) => e.accuracy + e.macroF1);
    const score =
      selection === 'domainAccuracyPlusMacroF1' && domainScores.length > 0
        ? domainScores.reduce((a, b) => a + b, 0) / domainScores.length
        : selection === 'textAccuracyPlusMacroF1'
          ? text.accuracy + text.macroF1
          : pooledMacroF1;
    return {
      epoch: at,
      loss,
      seconds,
      score,
      dev: { text, image: pick(slice(nt, nt + ni)), fused: pick(slice(nt + ni, nt + ni + nf)), pooledMacroF1, ...(domains.length > 0 ? { domains: perDomain } : {}) },
    };
  };
  const logRecord = (rec: EpochRecord, suffix: string) =>
    log(
      `epoch ${rec.epoch}: loss ${rec.loss.toFixed(4)} dev text acc ${rec.dev.text.accuracy.toFixed(3)} F1 ${rec.dev.text.macroF1.toFixed(3)} | image acc ${rec.dev.image.accuracy.toFixed(3)} | fused acc ${rec.dev.fused.accuracy.toFixed(3)} | pooled F1 ${rec.dev.pooledMacroF1.toFixed(3)}${Object.entries(rec.dev.domains ?? {})
        .map(([name, e]) => ` | ${name} acc ${e.accuracy.toFixed(3)} F1 ${e.macroF1.toFixed(3)}`)
        .join('')} | score ${rec.score.toFixed(3)}${suffix}`,
    );
  const evalsPerEpoch = Math.max(1, o.evalsPerEpoch ?? 1);
  let stop = false;
  for (let epoch = 1; epoch <= o.epochs && !stop; epoch++) {
    let epochStart = Date.now();
    const batches = lengthBucketedBatches(epochRows(sets, o, rng, wBySource, wImage), o.batchSize, rng);
    const bar = new ProgressBar(`epoch ${epoch}/${o.epochs}`, batches.length);
    const evalAt = new Set(Array.from({ length: evalsPerEpoch }, (_, i) => Math.round(((i + 1) * batches.length) / evalsPerEpoch)));
    let lossSum = 0;
    let steps = 0;
    try {
      for (const batch of batches) {
        const { tensors } = model.encode(batch);
        // Rows with a distillation target learn its distribution; the others their one-hot label.
        const onehot = batch.some((r) => r.soft)
          ? tf.tensor2d(batch.flatMap((r) => r.soft ?? Array.from({ length: K }, (_, c) => (c === r.label ? 1 : 0))), [batch.length, K])
          : tf.oneHot(tf.tensor1d(batch.map((r) => r.label), 'int32'), K);
        const weights = tf.tensor1d(batch.map((r) => r.weight));
        const loss = optimizer.minimize(() => {
          const logits = model.network.apply(tensors, { training: true }) as tf.Tensor2D;
          const picked = tf.sum(tf.mul(tf.logSoftmax(logits), onehot), 1);
          const ce = tf.div(tf.neg(tf.sum(tf.mul(picked, weights))), tf.sum(weights)) as tf.Scalar;
          if (anchors.length === 0) return ce;
          return tf.add(ce, tf.mul(o.anchor!, tf.addN(trainable.map((v, i) => tf.sum(tf.squaredDifference(anchored(v, anchors[i]!), anchors[i]!)))))) as tf.Scalar;
        }, true);
        lossSum += (await loss!.data())[0]!;
        tf.dispose([loss!, onehot, weights, ...tensors]);
        steps++;
        bar.tick(1, `loss ${(lossSum / steps).toFixed(4)}`);
        if (!evalAt.has(steps)) continue;

        const at = Number((epoch - 1 + steps / batches.length).toFixed(2));
        const rec = await evaluateDev(at, lossSum / steps, (Date.now() - epochStart) / 1000);
        epochStart = Date.now();
        history.push(rec);
        logRecord(rec, '');
        let improved = false;
        if (rec.score > best.score) {
          tf.dispose(best.weights);
          best = { score: rec.score, epoch: at, weights: model.network.getWeights().map((w) => w.clone()), evals: history.length, averaged: false };
          improved = true;
        }
        // Weight averaging (SWA-style) over the evaluations after swaStart: a flatter, better-generalising point
        // than any single snapshot of a run whose n-gram branch starts overfitting within an epoch.
        if (o.swaStartEpoch !== undefined && at >= o.swaStartEpoch) {
          const current = model.network.getWeights();
          if (swa.count === 0) swa.weights = current.map((w) => w.clone());
          else {
            const k = swa.count;
            const next = swa.weights.map((a, i) => tf.tidy(() => a.mul(k / (k + 1)).add(current[i]!.mul(1 / (k + 1)))));
            tf.dispose(swa.weights);
            swa.weights = next;
          }
          swa.count++;
          if (swa.count >= 2) {
            const saved = current.map((w) => w.clone());
            model.network.setWeights(swa.weights);
            const avgRec = await evaluateDev(at, rec.loss, 0);
            logRecord(avgRec, ` [average of ${swa.count} snapshots]`);
            if (avgRec.score > best.score) {
              tf.dispose(best.weights);
              best = { score: avgRec.score, epoch: at, weights: swa.weights.map((w) => w.clone()), evals: history.length, averaged: true };
              improved = true;
            }
            model.network.setWeights(saved);
            tf.dispose(saved);
          }
        }
        if (!improved && history.length - best.evals >= o.patience) {
          log(`early stop: no dev gain for ${o.patience} evaluations; keeping epoch ${best.epoch}${best.averaged ? ' (weight average)' : ''}`);
          stop = true;
          break;
        }
        if (o.maxSeconds !== undefined && (Date.now() - started) / 1000 > o.maxSeconds) {
          log(`time budget of ${o.maxSeconds} s reached; keeping epoch ${best.epoch}`);
          stop = true;
          break;
        }
      }
    } finally {
      // An early stop or the time budget can end the epoch before its last batch.
      bar.stop();
    }
  }
  if (best.weights.length > 0) {
    model.network.setWeights(best.weights);
    tf.dispose(best.weights);
  }
  tf.dispose(swa.weights);
  tf.dispose(anchors);
  optimizer.dispose();
  return {
    model,
    history,
    bestEpoch: best.epoch,
    bestIsAverage: best.averaged,
    trainSeconds: (Date.now() - started) / 1000,
    classWeights: { text: wText, images: wImage, bySource: wBySource },
  };
}

/** The parent's n-gram list, plus the new texts' frequent n-grams it lacks (appended: old indices keep their meaning). */
function grownBow(parent: BagOfWords | null, grow: TrainOptions['growBow']): BagOfWords | null {
  if (!parent || !grow || grow.maxNew <= 0) return parent;
  const known = new Set(parent.features);
  const added = BagOfWords.fit(grow.texts, grow.minCount, known.size + grow.maxNew)
    .features.filter((g) => !known.has(g))
    .slice(0, grow.maxNew);
  return added.length === 0 ? parent : new BagOfWords([...parent.features, ...added]);
}

/** The parent's weights shaped for a network whose n-gram list grew: the n-gram kernel gets zero rows for the new n-grams. */
function padBowKernel(parent: tf.Tensor[], target: tf.Tensor[]): tf.Tensor[] {
  tf.util.assert(parent.length === target.length, () => `warm start: ${parent.length} weight tensors, network has ${target.length}`);
  return parent.map((w, i) => {
    const want = target[i]!.shape;
    if (tf.util.arraysEqual(w.shape, want)) return w;
    tf.util.assert(w.rank === 2 && want.length === 2 && w.shape[1] === want[1] && want[0]! > w.shape[0]!, () => `warm start: weight ${i} is [${w.shape.join(',')}], network wants [${want.join(',')}]`);
    return tf.concat([w, tf.zeros([want[0]! - w.shape[0]!, want[1]!])], 0);
  });
}

function pick(e: Evaluation): Pick<Evaluation, 'accuracy' | 'macroF1'> {
  return { accuracy: e.accuracy, macroF1: e.macroF1 };
}
