import type * as Ort from 'onnxruntime-node';
import type { EmotionModel } from '../emotion-model';
import { modalities, type RowInput } from '../encode';
import { FUSED_INPUTS, FUSED_OUTPUT, fusedGraph } from './fused-graph';
import { importOrt } from './import-ort';

export interface FusedOnnxHeadOptions {
  /** ONNX Runtime intra-op threads (default 1: the scorer's parallelism comes from its inference workers). */
  threads?: number;
  /** Loads onnxruntime-node; injectable so tests can simulate it missing. */
  importModule?: (specifier: string) => Promise<unknown>;
}

export interface FusedLogits {
  logits: Float32Array;
  hasText: boolean[];
  hasImage: boolean[];
}

/**
 * The fused network (text LSTM, n-gram branch, image branch, fusion head) on ONNX Runtime, built from the
 * weights of an EmotionModel already loaded — the graph is made in memory at load (fused-graph.ts), so it can
 * never belong to other weights than the ones tfjs holds. Same contract as `EmotionModel.logits`: raw logits and
 * the modalities; the caller calibrates. tfjs-wasm runs the LSTM one small op at a time; ONNX Runtime runs it as
 * one native kernel.
 */
export class FusedOnnxHead {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    private readonly model: EmotionModel,
    /** Vocabulary ids whose vector is all zeros: steps the Masking layer skips. */
    private readonly maskedIds: ReadonlySet<number>,
    readonly threads: number,
  ) {}

  static async open(model: EmotionModel, options: FusedOnnxHeadOptions = {}): Promise<FusedOnnxHead> {
    const ort = await importOrt(options.importModule);
    const graph = fusedGraph(model.network, model.config.network, { modelVersion: model.version });
    const threads = Math.max(1, options.threads ?? 1);
    const session = await ort.InferenceSession.create(graph, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    const { vectors, dim, size } = model.vocab;
    const masked = new Set<number>();
    for (let id = 0; id < size; id++) if (vectors.subarray(id * dim, (id + 1) * dim).every((v) => v === 0)) masked.add(id);
    return new FusedOnnxHead(ort, session, model, masked, threads);
  }

  async logits(rows: readonly RowInput[]): Promise<FusedLogits> {
    if (rows.length === 0) return { logits: new Float32Array(0), hasText: [], hasImage: [] };
    const { vocab, bow, config } = this.model;
    const n = rows.length;
    const E = vocab.dim;
    const { hasText, hasImage, image, presence } = modalities(rows, { featureDim: config.featureDim });
    // Word vectors time-major [T, n, E], each row's unmasked tokens from step 0 (its length says where it ends).
    const ids = rows.map((r) => r.tokens.slice(0, config.preprocessing.maxLen).map((t) => vocab.id(t)).filter((id) => !this.maskedIds.has(id)));
    const steps = Math.max(1, ...ids.map((x) => x.length));
    const sequence = new Float32Array(steps * n * E);
    ids.forEach((row, i) => row.forEach((id, t) => sequence.set(vocab.vectors.subarray(id * E, (id + 1) * E), (t * n + i) * E)));
    const T = this.ort.Tensor;
    const feeds: Record<string, Ort.Tensor> = {
      [FUSED_INPUTS.sequence]: new T('float32', sequence, [steps, n, E]),
      [FUSED_INPUTS.lengths]: new T('int32', Int32Array.from(ids, (x) => x.length), [n]),
      [FUSED_INPUTS.image]: new T('float32', image, [n, config.featureDim]),
      [FUSED_INPUTS.presence]: new T('float32', presence, [n, 2]),
    };
    if (bow !== null) {
      const sparse = rows.map((r) => bow.sparse(r.tokens));
      const K = Math.max(1, ...sparse.map((s) => s.indices.length));
      const index = new BigInt64Array(n * K);
      const value = new Float32Array(n * K);
      sparse.forEach((s, i) => s.indices.forEach((feature, k) => {
        index[i * K + k] = BigInt(feature);
        value[i * K + k] = s.value;
      }));
      feeds[FUSED_INPUTS.bowIndex] = new T('int64', index, [n, K]);
      feeds[FUSED_INPUTS.bowValue] = new T('float32', value, [n, K]);
    }
    const out = await this.session.run(feeds);
    const logits = out[FUSED_OUTPUT]!;
    try {
      return { logits: Float32Array.from(logits.data as Float32Array), hasText, hasImage };
    } finally {
      logits.dispose();
      for (const tensor of Object.values(feeds)) tensor.dispose();
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
