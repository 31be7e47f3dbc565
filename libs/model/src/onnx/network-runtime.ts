import { MoodstreamError } from '@moodstream/core';
import type { EmotionModel, LogitsRunner } from '../emotion-model';
import { rowFromText, type RowInput } from '../encode';
import { FusedOnnxHead } from './fused-head';

/** What runs the fused network (text LSTM, n-gram and image branches, fusion head): ONNX Runtime when it loads and agrees with tfjs ('auto'), or forced. */
export type NetworkRuntime = 'auto' | 'onnx' | 'tfjs';
export const NETWORK_RUNTIMES: readonly NetworkRuntime[] = ['auto', 'onnx', 'tfjs'];

export interface NetworkRuntimeOptions {
  runtime?: NetworkRuntime;
  /** ONNX Runtime intra-op threads (default 1). */
  onnxThreads?: number;
  /** Loads onnxruntime-node; injectable so tests can simulate it missing. */
  importModule?: (specifier: string) => Promise<unknown>;
}

export interface NetworkRuntimeInfo {
  runtime: 'onnx' | 'tfjs';
  detail: string;
  /** Why this one (and, for tfjs under 'auto', why not ONNX Runtime). */
  reason: string;
}

export interface SelectedNetwork {
  runner: LogitsRunner;
  info: NetworkRuntimeInfo;
  release(): Promise<void>;
}

/** Largest difference in any calibrated probability the ONNX graph may show against tfjs on the check rows. */
export const NETWORK_AGREEMENT = 1e-4;

/**
 * Picks what runs `model`'s network. Under 'auto' ONNX Runtime is used only if onnxruntime-node loads, the
 * network converts (fused-graph.ts) and its probabilities agree with tfjs's within NETWORK_AGREEMENT on a fixed
 * set of check rows (text, image, both, long, empty) — otherwise tfjs, with the reason in `info` for the one
 * log line the scorer writes at load. 'onnx' throws instead of falling back; 'tfjs' skips the attempt.
 */
export async function selectNetworkRuntime(model: EmotionModel, options: NetworkRuntimeOptions = {}): Promise<SelectedNetwork> {
  const runtime = options.runtime ?? 'auto';
  const tfjs: SelectedNetwork = { runner: model, info: { runtime: 'tfjs', detail: 'tfjs', reason: 'tfjs asked for' }, release: async () => undefined };
  if (runtime === 'tfjs') return tfjs;
  let head: FusedOnnxHead | null = null;
  try {
    head = await FusedOnnxHead.open(model, { threads: options.onnxThreads ?? 1, ...(options.importModule ? { importModule: options.importModule } : {}) });
    // The mixed rows go through the full graph; their text-only ones alone through the text-only graph.
    const rows = checkRows(model.featureDim);
    const difference = Math.max(
      await largestDifference(model, head, rows),
      await largestDifference(model, head, rows.filter((row) => row.imageFeatures === null)),
    );
    if (!(difference <= NETWORK_AGREEMENT)) throw new Error(`its probabilities differ from tfjs's by ${difference.toExponential(2)} (> ${NETWORK_AGREEMENT})`);
    const opened = head;
    return {
      runner: opened,
      info: {
        runtime: 'onnx',
        detail: `onnxruntime-node cpu, ${opened.threads} intra-op thread${opened.threads === 1 ? '' : 's'}`,
        reason: `${runtime === 'onnx' ? 'onnx asked for' : 'onnxruntime-node loads'}; agrees with tfjs within ${difference.toExponential(1)}`,
      },
      release: () => opened.release(),
    };
  } catch (error) {
    await head?.release();
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    if (runtime === 'onnx') throw new MoodstreamError('MODEL_RUNTIME_UNAVAILABLE', `the fused network cannot run on ONNX Runtime: ${reason}`, { cause: error });
    return { ...tfjs, info: { runtime: 'tfjs', detail: 'tfjs', reason: `ONNX Runtime not used: ${reason}` } };
  }
}

/** Largest absolute difference between the two runtimes' calibrated probabilities on `rows`. */
export async function largestDifference(model: EmotionModel, other: LogitsRunner, rows: readonly RowInput[]): Promise<number> {
  const probabilities = async (runner: LogitsRunner): Promise<number[][]> => {
    const { logits, hasText, hasImage } = await runner.logits(rows);
    return model.calibrate(logits, hasText, hasImage);
  };
  const [a, b] = [await probabilities(model), await probabilities(other)];
  let largest = 0;
  a.forEach((row, i) => row.forEach((p, k) => (largest = Math.max(largest, Math.abs(p - b[i]![k]!)))));
  return largest;
}

/** Fixed rows of every modality and length (the longest past maxLen), with deterministic image features. */
function checkRows(featureDim: number): RowInput[] {
  const features = (seed: number): Float32Array => Float32Array.from({ length: featureDim }, (_, i) => ((i * 2_654_435_761 + seed * 40_503) % 1_000) / 500);
  const long = Array.from({ length: 70 }, (_, i) => ['storm', 'again', 'so', 'tired', 'of', 'this', 'love', 'you', 'all'][i % 9]).join(' ');
  return [
    rowFromText('warm up', null),
    rowFromText('i cannot believe how happy i am today', null),
    rowFromText(long, null),
    rowFromText('', features(1)),
    rowFromText('look at this', features(2)),
    rowFromText('zxqv qqq <pad>', features(3)),
  ];
}
