import { EmotionScorer, initBackend, type BackboneRuntime, type NetworkRuntime } from '@moodstream/model';
import type { LoadedModels } from './run-inference';

export interface LoadedModelsWithBackend extends LoadedModels {
  backend: string;
}

/** How each inference thread runs the image backbone and the fused network (SCORER_BACKBONE_RUNTIME, SCORER_NETWORK_RUNTIME, SCORER_ONNX_THREADS). */
export interface BackboneOptions {
  runtime: BackboneRuntime;
  /** The fused network (text LSTM, n-gram and image branches, head): ONNX Runtime or tfjs. */
  networkRuntime: NetworkRuntime;
  onnxThreads: number;
  /** ONNX Runtime execution providers in order, e.g. ['cpu'] or ['cuda', 'cpu']. */
  onnxProviders: string[];
  /** The ONNX backbone file; absent or '' for the shipped one (SCORER_BACKBONE_FILE). */
  onnxFile?: string;
}

export const DEFAULT_BACKBONE_OPTIONS: BackboneOptions = { runtime: 'auto', networkRuntime: 'auto', onnxThreads: 1, onnxProviders: ['cpu'] };

/**
 * Picks the tfjs backend for this thread (the fused model runs on it) and loads the scorer: fused model + the
 * backbone it was trained on, on ONNX Runtime when available (see ImageBackbone.load), warmed up.
 */
export async function loadModels(modelDir: string, backbone: BackboneOptions = DEFAULT_BACKBONE_OPTIONS): Promise<LoadedModelsWithBackend> {
  const tfjs = await initBackend();
  const scorer = await EmotionScorer.load({
    modelDir,
    images: true,
    backbone: {
      runtime: backbone.runtime,
      onnxThreads: backbone.onnxThreads,
      onnxProviders: backbone.onnxProviders,
      ...(backbone.onnxFile ? { onnxFile: backbone.onnxFile } : {}),
    },
    network: { runtime: backbone.networkRuntime, onnxThreads: backbone.onnxThreads },
  });
  return { scorer, backend: tfjs.provider };
}
