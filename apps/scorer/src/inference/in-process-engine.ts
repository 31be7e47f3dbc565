import * as tf from '@tensorflow/tfjs';
import { createSerialQueue } from '@moodstream/core';
import { currentBackend } from '@moodstream/model';
import type { EngineInfo, InferenceEngine, InferenceRequest, InferenceResult } from './inference-engine';
import { DEFAULT_BACKBONE_OPTIONS, loadModels, type BackboneOptions } from './load-models';
import { runInference, type LoadedModels } from './run-inference';

/**
 * Backbone and model on the calling thread: embedded mode, and the single-thread baseline.
 * Batches are run one at a time (tfjs work is synchronous between awaits anyway).
 */
export class InProcessEngine implements InferenceEngine {
  readonly info: EngineInfo;
  private readonly queue = createSerialQueue();

  constructor(
    private readonly models: LoadedModels,
    private readonly ownsModels: boolean,
  ) {
    this.info = {
      backend: currentBackend()?.provider ?? tf.getBackend(),
      modelVersion: models.scorer.modelVersion,
      backboneId: models.scorer.backboneId,
      inputSize: models.scorer.inputSize,
      workers: 0,
      backboneRuntime: models.scorer.backboneRuntime,
      networkRuntime: models.scorer.networkRuntime,
    };
  }

  static async load(modelDir: string, backbone: BackboneOptions = DEFAULT_BACKBONE_OPTIONS): Promise<InProcessEngine> {
    return new InProcessEngine(await loadModels(modelDir, backbone), true);
  }

  run(request: InferenceRequest): Promise<InferenceResult> {
    return this.queue.run(() => runInference(this.models, request));
  }

  async tensorCounts(): Promise<number[]> {
    return [tf.memory().numTensors];
  }

  async close(): Promise<void> {
    await this.queue.idle();
    // Injected models belong to whoever loaded them.
    if (this.ownsModels) this.models.scorer.dispose();
  }
}
