import type { BackboneRuntimeInfo, EmotionScore, NetworkRuntimeInfo } from '@moodstream/model';
import type { ImageFeatures } from '../feature-cache';

/** One post's model input. Its image comes as cached features, as pixels still to embed, or not at all. */
export interface InferenceItem {
  text: string;
  image: { kind: 'features'; features: Float32Array } | { kind: 'pixels'; index: number } | null;
}

export interface InferenceRequest {
  items: InferenceItem[];
  /** Decoded images, each inputSize×inputSize×3 RGB bytes, referenced by `pixels` items. */
  pixels: Uint8Array[];
}

export interface InferenceResult {
  /** One per request item, in order. */
  scores: EmotionScore[];
  /** One per request pixels entry, in order: to be cached. */
  embedded: ImageFeatures[];
  /** Wall time of the backbone and of the fused model; the slowest shard's when split. */
  backboneMs: number;
  modelMs: number;
}

export interface EngineInfo {
  /** tfjs backend in use, e.g. 'wasm'. */
  backend: string;
  modelVersion: string;
  backboneId: string;
  inputSize: number;
  /** Threads running the model: 0 means the calling thread. */
  workers: number;
  /** What runs the image backbone (ONNX Runtime or tfjs) and why; absent when not known (test engines). */
  backboneRuntime?: BackboneRuntimeInfo | null;
  /** What runs the fused network (ONNX Runtime or tfjs) and why; absent when not known (test engines). */
  networkRuntime?: NetworkRuntimeInfo;
}

/** Runs backbone + fused model on a batch, on this thread or on worker threads. */
export interface InferenceEngine {
  readonly info: EngineInfo;
  run(request: InferenceRequest): Promise<InferenceResult>;
  /** Live tfjs tensors, per thread: constant in a healthy scorer. */
  tensorCounts(): Promise<number[]>;
  close(): Promise<void>;
}
