import { existsSync } from 'node:fs';
import type * as Ort from 'onnxruntime-node';
import { importOrt } from '../onnx/import-ort';

/** Input and output names of the exported backbone (scripts/model-export/convert_backbone.py). */
const INPUT = 'pixels';
const FEATURES = 'features';
const HEAD = 'nsfw';

export interface OnnxBackboneOptions {
  /** The .onnx file: uint8 pixels [n, size, size, 3] → features [n, featureDim], nsfw [n, 5]. */
  file: string;
  /** ONNX Runtime intra-op threads for one run (default 1: the scorer gets its parallelism from overlap and workers). */
  threads?: number;
  /** Execution providers in order of preference (default ['cpu']; ['cuda', 'cpu'] with the CUDA libraries installed). */
  providers?: string[];
  /** Loads onnxruntime-node; injectable so tests can simulate it missing. */
  importModule?: (specifier: string) => Promise<unknown>;
}

export interface OnnxRun {
  features: Float32Array;
  head: Float32Array;
}

/**
 * The image backbone on ONNX Runtime's CPU execution provider. onnxruntime-node's `run` returns a promise but runs
 * the session synchronously on the calling JavaScript thread (after a setImmediate; its CPU profile shows it there):
 * the scorer runs it in inference worker threads so the main thread keeps fetching and decoding meanwhile.
 */
export class OnnxBackboneSession {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
    readonly threads: number,
    /** The execution providers asked for, in order ('cpu', or e.g. 'cuda>cpu'). */
    readonly providers: string,
  ) {}

  /** Throws (with the reason as message) when onnxruntime-node or the file is not there, or the file is not the backbone. */
  static async open(options: OnnxBackboneOptions): Promise<OnnxBackboneSession> {
    if (!existsSync(options.file)) throw new Error(`no exported backbone at ${options.file} (npm run model:export-backbone)`);
    const ort = await importOrt(options.importModule);
    const threads = Math.max(1, options.threads ?? 1);
    const session = await ort.InferenceSession.create(options.file, {
      executionProviders: options.providers ?? ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    const missing = [INPUT].filter((n) => !session.inputNames.includes(n)).concat([FEATURES, HEAD].filter((n) => !session.outputNames.includes(n)));
    if (missing.length > 0) {
      await session.release();
      throw new Error(`${options.file} is not the exported backbone: missing ${missing.join(', ')}`);
    }
    return new OnnxBackboneSession(ort, session, threads, (options.providers ?? ['cpu']).join('>'));
  }

  /** @param pixels n images of size×size×3 RGB bytes, back to back. */
  async run(pixels: Uint8Array, n: number, size: number): Promise<OnnxRun> {
    const input = new this.ort.Tensor('uint8', pixels, [n, size, size, 3]);
    const out = await this.session.run({ [INPUT]: input });
    const features = out[FEATURES]!;
    const head = out[HEAD]!;
    try {
      return { features: features.data as Float32Array, head: head.data as Float32Array };
    } finally {
      input.dispose();
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
