import type * as Ort from 'onnxruntime-node';
import type { EmotionModel } from '../emotion-model';
import { modalities, type RowInput } from '../encode';
import { FUSED_INPUTS, FUSED_OUTPUT, fusedGraph, resetId } from './fused-graph';
import { importOrt } from './import-ort';
import { packRows } from './pack-rows';

/**
 * Posts per LSTM row (packRows). Measured on the bench's texts (4–40 words), batch 32, one ORT thread: see
 * docs/benchmarks.md, "Text path cost (session 11)".
 */
export const POSTS_PER_ROW = 4;

export interface FusedOnnxHeadOptions {
  /** ONNX Runtime intra-op threads (default 1: the scorer's parallelism comes from its inference workers). */
  threads?: number;
  /** Loads onnxruntime-node; injectable so tests can simulate it missing. */
  importModule?: (specifier: string) => Promise<unknown>;
  /** Posts sharing one LSTM row (default POSTS_PER_ROW; 1: one post per row). */
  postsPerRow?: number;
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
    /** The same network without its image branch, for batches without an image (fusedGraph's textOnly). */
    private readonly textSession: Ort.InferenceSession,
    private readonly model: EmotionModel,
    /** Vocabulary ids whose vector is all zeros: steps the Masking layer skips. */
    private readonly maskedIds: ReadonlySet<number>,
    readonly threads: number,
    private readonly postsPerRow: number,
  ) {}

  static async open(model: EmotionModel, options: FusedOnnxHeadOptions = {}): Promise<FusedOnnxHead> {
    const ort = await importOrt(options.importModule);
    const threads = Math.max(1, options.threads ?? 1);
    const sessionFor = (textOnly: boolean): Promise<Ort.InferenceSession> =>
      ort.InferenceSession.create(fusedGraph(model.network, model.config.network, model.vocab.vectors, { metadata: { modelVersion: model.version }, textOnly }), {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
      });
    const session = await sessionFor(false);
    let textSession: Ort.InferenceSession;
    try {
      textSession = await sessionFor(true);
    } catch (error) {
      await session.release();
      throw error;
    }
    const { vectors, dim, size } = model.vocab;
    const masked = new Set<number>();
    for (let id = 0; id < size; id++) if (vectors.subarray(id * dim, (id + 1) * dim).every((v) => v === 0)) masked.add(id);
    return new FusedOnnxHead(ort, session, textSession, model, masked, threads, options.postsPerRow ?? POSTS_PER_ROW);
  }

  async logits(rows: readonly RowInput[]): Promise<FusedLogits> {
    if (rows.length === 0) return { logits: new Float32Array(0), hasText: [], hasImage: [] };
    const { vocab, bow, config } = this.model;
    const n = rows.length;
    const { hasText, hasImage, image, presence } = modalities(rows, { featureDim: config.featureDim, omitAbsentImages: true });
    const textOnly = image.length === 0;
    // Each post's unmasked word ids (the first maxLen tokens), packed several to an LSTM row.
    const ids = rows.map((r) => r.tokens.slice(0, config.preprocessing.maxLen).map((t) => vocab.id(t)).filter((id) => !this.maskedIds.has(id)));
    const packed = packRows(ids, { resetId: resetId(vocab.vectors, vocab.dim), directions: config.network.bidirectional ? 2 : 1, postsPerRow: this.postsPerRow });
    const T = this.ort.Tensor;
    const feeds: Record<string, Ort.Tensor> = {
      [FUSED_INPUTS.tokens]: new T('int32', packed.tokens, [packed.steps, packed.rows]),
      [FUSED_INPUTS.rowLengths]: new T('int32', packed.rowLengths, [packed.rows]),
      [FUSED_INPUTS.last]: new T('int64', packed.last, [n]),
      [FUSED_INPUTS.steps]: new T('int32', packed.postSteps, [n]),
      [FUSED_INPUTS.presence]: new T('float32', presence, [n, 2]),
    };
    if (!textOnly) feeds[FUSED_INPUTS.image] = new T('float32', image, [n, config.featureDim]);
    if (packed.first !== null) feeds[FUSED_INPUTS.first] = new T('int64', packed.first, [n]);
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
    const out = await (textOnly ? this.textSession : this.session).run(feeds);
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
    await this.textSession.release();
  }
}
