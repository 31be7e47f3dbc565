import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { kafkaEnv, splitList } from '@moodstream/core';

const int = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * The scorer's environment. Defaults for batch size and age come from `npm run bench:scorer`
 * (docs/benchmarks.md): batches of 32 reach full throughput, and no age wait (0) keeps the latency at
 * low offered load down to one pass through the model.
 */
export const ScorerConfigSchema = z.object({
  ...kafkaEnv,
  SCORER_GROUP_ID: z.string().min(1).default('moodstream-scorer'),
  /** Start a new group at the oldest retained post rather than only new ones. */
  SCORER_FROM_BEGINNING: z
    .enum(['true', 'false'])
    .default('true')
    .transform((value) => value === 'true'),
  /** How long the group waits for a silent scorer (a crashed one) before giving its partitions to another. */
  SCORER_SESSION_TIMEOUT_MS: int(30_000, 6_000, 300_000),
  SCORER_BATCH_SIZE: int(32, 1, 1024),
  /**
   * How long a part batch waits for company. 0 (default): none, a hand-over is cut at once. The consumer hands over
   * nothing more until its records are scored (then commits them), so waiting can never fill a batch and only
   * added its full age to every post at low rates; at high rates hand-overs are full batches anyway.
   */
  SCORER_BATCH_MAX_AGE_MS: int(0, 0, 60_000),
  /**
   * Micro-batches processed at once (scored, or waiting for their produce request). 8, not one per thread: a batch
   * spends longer waiting for the broker's acknowledgement than being scored, so with 3 the workers sat idle; on the
   * text-only bench 3 → 8 went 1,243 → 1,756 posts/s (docs/model.md, "Using both cores").
   */
  SCORER_MAX_IN_FLIGHT_BATCHES: int(8, 1, 16),
  /** Inference worker threads; 0 runs the model on the main thread (embedded mode). */
  SCORER_WORKERS: int(Math.min(2, availableParallelism()), 0, 64),
  /**
   * What runs the image backbone in each inference thread: 'auto' takes ONNX Runtime (CPU) when onnxruntime-node
   * loads and models/backbone holds the export, else tfjs; 'onnx' refuses to start without it; 'tfjs' forces tfjs.
   */
  SCORER_BACKBONE_RUNTIME: z.enum(['auto', 'onnx', 'tfjs']).default('auto'),
  /**
   * What runs the fused network (text LSTM, n-gram and image branches, head) in each inference thread: 'auto' takes
   * ONNX Runtime when onnxruntime-node loads and the graph converted from the loaded weights agrees with tfjs
   * (within 1e-4 on fixed check rows), else tfjs; 'onnx' refuses to start otherwise; 'tfjs' forces tfjs.
   */
  SCORER_NETWORK_RUNTIME: z.enum(['auto', 'onnx', 'tfjs']).default('auto'),
  /**
   * ONNX Runtime intra-op threads per inference thread. With SCORER_WORKERS=2 on two cores, 1 each: the two
   * workers already fill both cores, more threads only contend (docs/model.md, "Using both cores").
   */
  SCORER_ONNX_THREADS: int(1, 1, 64),
  /**
   * The ONNX backbone file; empty (default) means the shipped export, models/backbone/<backbone id>.onnx. For
   * measuring another export of the same backbone (bench:scorer --backbone-files, e.g. an int8 copy).
   */
  SCORER_BACKBONE_FILE: z.string().default(''),
  /** ONNX Runtime execution providers in order of preference: 'cpu', or 'cuda,cpu' on a GPU host (README, GPU notes). */
  SCORER_ONNX_PROVIDERS: z
    .string()
    .default('cpu')
    .transform((value) => splitList(value)),
  /** libvips threads per image decode (sharp.concurrency): decodes run several at once, each on one thread. */
  SCORER_DECODE_THREADS: int(1, 1, 64),
  /** Folder of the trained fused model; empty means the model library's shipped default. */
  SCORER_MODEL_DIR: z.string().default(''),
  /** Model registry folder to follow (`npm run learn` promotes into it): a promoted version is hot-swapped in. Empty: off. */
  SCORER_MODEL_REGISTRY: z.string().default(''),
  /** How often the registry's CURRENT.json is read. */
  SCORER_MODEL_POLL_MS: int(5_000, 100, 3_600_000),
  SCORER_IMAGE_TIMEOUT_MS: int(5_000, 100, 120_000),
  SCORER_IMAGE_MAX_BYTES: int(5 * 1024 * 1024, 1_024, 256 * 1024 * 1024),
  SCORER_IMAGE_MAX_REDIRECTS: int(3, 0, 10),
  /** sharp's limitInputPixels: refuses decompression bombs before decoding them. */
  SCORER_IMAGE_MAX_PIXELS: int(40_000_000, 1, 1_000_000_000),
  SCORER_IMAGE_CONCURRENCY: int(16, 1, 256),
  /** IPs or CIDRs that may be fetched although private or loopback (tests: 127.0.0.1). */
  SCORER_IMAGE_ALLOWLIST: z
    .string()
    .default('')
    .transform((value) => splitList(value)),
  SCORER_CACHE_ENTRIES: int(5_000, 0, 1_000_000),
  SCORER_METRICS_HOST: z.string().default('127.0.0.1'),
  /** `/healthz` and `/metrics` of the standalone scorer (the ingester has 9464, the aggregator 9466); 0 picks a free port. */
  SCORER_METRICS_PORT: int(9_465, 0, 65_535),
  /** The whole graceful close (finish and commit the batches in flight, leave the group); past it, exit 1. */
  SCORER_SHUTDOWN_DEADLINE_MS: int(15_000, 100, 600_000),
});

export type ScorerConfig = z.infer<typeof ScorerConfigSchema>;
