import type { Emotion, Post } from '@moodstream/events';
import { EmotionModel } from '../emotion-model';
import { evaluate } from '../metrics';
import { decidePromotion, type GateMargins, type PromotionDecision, type SliceScore } from '../registry/promotion-gate';
import { calibrateOnDev, type DevCalibration } from './calibrate-on-dev';
import { makeRng, shuffleInPlace } from './rng';
import { postRow, splitPostsByTime } from './text-sources';
import { logitsOf, trainEmotionModel, type DevDomain, type EpochRecord, type LabelledRow } from './trainer';

export type LabelledPost = Post & { label: Emotion };

/** A fixed labelled set the loop replays (a sample of its train split) and guards (its dev split). */
export interface FixedSource {
  name: string;
  train: LabelledRow[];
  dev: LabelledRow[];
}

export interface LearnOptions {
  version: string;
  /** Newest labelled posts used (older ones are ignored); default all. */
  recent?: number;
  /** Share of those posts (by time, the newest) held out for the promotion gate, and the share before it that selects and calibrates. */
  heldOutShare?: number;
  validationShare?: number;
  /** Train on at most this many of the train-split posts (a seeded sample): bounds a turn's cost on a busy machine. */
  maxTrainPosts?: number;
  /** Select and calibrate on at most this many rows per slice (the gate always uses every row). */
  selectionRowsPerSlice?: number;
  /** Rows sampled from each fixed source's train split per run: the replay buffer against forgetting. */
  replayPerSource?: number;
  /** Fixed sources whose dev split the gate checks but that are not replayed (e.g. a domain only measured). */
  guardOnly?: FixedSource[];
  /** Append up to this many n-grams of the train posts that the current model's list lacks (seen in ≥ 3 posts); 0 = keep the list. */
  growNgrams?: number;
  /** L2 pull towards the current model's weights (L2-SP) against forgetting; 0 = none. */
  anchor?: number;
  epochs?: number;
  evalsPerEpoch?: number;
  learningRate?: number;
  batchSize?: number;
  classWeightPower?: number;
  margins?: GateMargins;
  /** The deliberately bad candidate: post labels permuted before training (the gate must refuse it). */
  shuffleLabels?: boolean;
  seed?: number;
  maxSeconds?: number;
  log?: (message: string) => void;
}

export interface LearnReport {
  version: string;
  parent: string;
  posts: { used: number; train: number; trainedOn: number; validation: number; heldOut: number; heldOutFrom: number | null; shuffledLabels: boolean };
  replay: Record<string, number>;
  slices: { current: Record<string, SliceScore>; candidate: Record<string, SliceScore> };
  decision: PromotionDecision;
  calibration: { temperature: number; lambda: number; domains: DevCalibration['domains'] };
  history: EpochRecord[];
  bestEpoch: number;
  trainSeconds: number;
}

/** Scores a model on named slices (text rows), calibrated as it would serve. */
export async function scoreSlices(model: EmotionModel, slices: readonly DevDomain[]): Promise<Record<string, SliceScore>> {
  const out: Record<string, SliceScore> = {};
  for (const s of slices) {
    if (s.rows.length === 0) continue;
    const probs = model.calibrate(await logitsOf(model, s.rows), s.rows.map((r) => r.tokens.length > 0), s.rows.map((r) => r.imageFeatures !== null));
    const e = evaluate(probs, s.rows.map((r) => r.label));
    out[s.name] = { n: e.n, accuracy: e.accuracy, macroF1: e.macroF1, ece: e.ece };
  }
  return out;
}

/**
 * One turn of the self-labelling loop: fine-tunes `current` on the recent labelled posts (oldest 80 %
 * by time) plus a replay sample of every fixed source, selects the checkpoint and recalibrates on the
 * posts' validation slice and the fixed dev splits, then measures candidate and current on the
 * time-held-out newest posts and on every fixed dev split. The decision is `decidePromotion`'s; the
 * caller stores the candidate and moves the registry pointer only when it says promote.
 */
export async function learnOnce(current: EmotionModel, labelled: readonly LabelledPost[], fixed: readonly FixedSource[], o: LearnOptions): Promise<{ candidate: EmotionModel; report: LearnReport }> {
  const log = o.log ?? (() => {});
  const seed = o.seed ?? 1234;
  const rng = makeRng(seed);
  const byTime = splitPostsByTime(labelled, 0, 0).train;
  const recent = o.recent === undefined ? byTime : byTime.slice(Math.max(0, byTime.length - o.recent));
  const split = splitPostsByTime(recent, o.validationShare ?? 0.1, o.heldOutShare ?? 0.1);
  const trainPosts = shuffleInPlace(split.train.map((p) => postRow(p, 0)), rng).slice(0, o.maxTrainPosts ?? Infinity);
  if (o.shuffleLabels) {
    const labels = shuffleInPlace(trainPosts.map((r) => r.label), rng);
    trainPosts.forEach((r, i) => (r.label = labels[i]!));
  }
  const replay: Record<string, number> = {};
  const replayRows: LabelledRow[] = [];
  fixed.forEach((f, i) => {
    const sample = shuffleInPlace([...f.train], rng).slice(0, o.replayPerSource ?? 10_000);
    replay[f.name] = sample.length;
    for (const r of sample) replayRows.push({ ...r, source: i + 1 });
  });
  log(`posts: ${recent.length} used → ${split.train.length} train, ${split.validation.length} validation, newest ${split.heldOut.length} held out${o.shuffleLabels ? ' (train labels SHUFFLED: a deliberately bad candidate)' : ''}; replay ${JSON.stringify(replay)}`);

  const validation: DevDomain = { name: 'posts-validation', rows: split.validation.map((p) => postRow(p, 0)) };
  const selectOn: DevDomain[] = [...(validation.rows.length > 0 ? [validation] : []), ...fixed.map((f) => ({ name: f.name, rows: f.dev }))]
    .filter((d) => d.rows.length > 0)
    .map((d) => ({ name: d.name, rows: d.rows.slice(0, o.selectionRowsPerSlice ?? Infinity) }));
  const gateSlices: DevDomain[] = [
    { name: 'posts-newest', rows: split.heldOut.map((p) => postRow(p, 0)) },
    ...[...fixed, ...(o.guardOnly ?? [])].map((f) => ({ name: `${f.name}-dev`, rows: f.dev })),
  ].filter((d) => d.rows.length > 0);

  const trained = await trainEmotionModel(
    { text: [...trainPosts, ...replayRows], images: [], posts: [], sourceWeights: [1, ...fixed.map(() => 1)], dev: { text: selectOn[0]?.rows ?? [], images: [], fused: [], domains: selectOn } },
    current.vocab,
    {
      version: o.version,
      backboneId: current.backboneId,
      featureDim: current.featureDim,
      imageInputSize: current.config.preprocessing.image.inputSize,
      maxLen: current.config.preprocessing.maxLen,
      network: current.config.network,
      bowMinCount: 1,
      bowMaxFeatures: current.bow?.size ?? 0,
      epochs: o.epochs ?? 1,
      patience: 4,
      evalsPerEpoch: o.evalsPerEpoch ?? 3,
      selection: 'domainAccuracyPlusMacroF1',
      batchSize: o.batchSize ?? 64,
      learningRate: o.learningRate ?? 0.0005,
      classWeightPower: o.classWeightPower ?? 0.3,
      imageRepeats: 0,
      pairRepeats: 0,
      dropTextProbability: 0,
      dropImageProbability: 0,
      seed,
      init: current,
      ...((o.growNgrams ?? 0) > 0 ? { growBow: { texts: trainPosts.map((r) => r.tokens), minCount: 3, maxNew: o.growNgrams! } } : {}),
      ...((o.anchor ?? 0) > 0 ? { anchor: o.anchor! } : {}),
      ...(o.maxSeconds !== undefined ? { maxSeconds: o.maxSeconds } : {}),
      log,
    },
  );
  const calibration = await calibrateOnDev(trained.model, { text: selectOn[0]?.rows ?? [], images: [], fused: [], domains: selectOn }, trained.classWeights.text, log);
  const candidate = calibration.model;
  const slices = { current: await scoreSlices(current, gateSlices), candidate: await scoreSlices(candidate, gateSlices) };
  const decision = decidePromotion(slices.current, slices.candidate, o.margins ?? { default: 0.01 });
  for (const v of decision.verdicts) {
    log(`gate ${v.slice}: macro-F1 ${v.current.macroF1.toFixed(3)} → ${v.candidate.macroF1.toFixed(3)} (${v.deltaMacroF1 >= 0 ? '+' : ''}${v.deltaMacroF1.toFixed(3)}), accuracy ${v.current.accuracy.toFixed(3)} → ${v.candidate.accuracy.toFixed(3)} ${v.pass ? 'ok' : 'WORSE'}`);
  }
  log(decision.promote ? `candidate ${o.version}: PROMOTE` : `candidate ${o.version}: REFUSED (${decision.refusedBecause.join('; ')})`);
  return {
    candidate,
    report: {
      version: o.version,
      parent: current.version,
      posts: {
        used: recent.length,
        train: split.train.length,
        trainedOn: trainPosts.length,
        validation: split.validation.length,
        heldOut: split.heldOut.length,
        heldOutFrom: split.heldOut[0]?.timestamp ?? null,
        shuffledLabels: o.shuffleLabels ?? false,
      },
      replay,
      slices,
      decision,
      calibration: { temperature: calibration.temperature, lambda: calibration.lambda, domains: calibration.domains },
      history: trained.history,
      bestEpoch: trained.bestEpoch,
      trainSeconds: trained.trainSeconds,
    },
  };
}
