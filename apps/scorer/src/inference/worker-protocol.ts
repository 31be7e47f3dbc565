import type { EngineInfo, InferenceRequest, InferenceResult } from './inference-engine';
import type { BackboneOptions } from './load-models';

export type ToWorker =
  | { type: 'run'; id: number; request: InferenceRequest }
  | { type: 'tensors'; id: number };

export type FromWorker =
  | { type: 'ready'; info: Omit<EngineInfo, 'workers'> }
  | { type: 'init-failed'; message: string }
  | { type: 'result'; id: number; result: InferenceResult }
  | { type: 'tensors'; id: number; count: number }
  | { type: 'error'; id: number; message: string };

/** workerData of an inference worker. */
export interface WorkerSetup {
  modelDir: string;
  backbone: BackboneOptions;
}
