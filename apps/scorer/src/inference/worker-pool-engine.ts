import { Worker } from 'node:worker_threads';
import { MoodstreamError } from '@moodstream/core';
import type { EmotionScore } from '@moodstream/model';
import type { ImageFeatures } from '../feature-cache';
import type { EngineInfo, InferenceEngine, InferenceRequest, InferenceResult } from './inference-engine';
import { DEFAULT_BACKBONE_OPTIONS, type BackboneOptions } from './load-models';
import { shardCount, shardRequest } from './shard-request';
import type { FromWorker, ToWorker, WorkerSetup } from './worker-protocol';

export class InferenceWorkerError extends MoodstreamError {
  constructor(message: string) {
    // A dead thread does not come back by retrying the batch: the process should restart.
    super('INFERENCE_WORKER_FAILED', message);
  }
}

interface Pending {
  resolve: (message: FromWorker) => void;
  reject: (error: unknown) => void;
  cost: number;
}

class InferenceThread {
  readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | null = null;

  constructor(readonly worker: Worker) {
    worker.on('message', (message: FromWorker) => {
      if (!('id' in message)) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      this.queuedCost -= waiter?.cost ?? 0;
      if (message.type === 'error') waiter?.reject(new InferenceWorkerError(`inference failed: ${message.message}`));
      else waiter?.resolve(message);
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const waiter of this.pending.values()) waiter.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', (error) => fail(new InferenceWorkerError(`inference thread crashed: ${error.message}`)));
    worker.on('exit', (code) => fail(new InferenceWorkerError(`inference thread exited with code ${code}`)));
  }

  /** Work sent to this thread and not yet answered, in text-only posts. */
  queuedCost = 0;

  ask(message: Omit<Extract<ToWorker, { type: 'run' }>, 'id'> | Omit<Extract<ToWorker, { type: 'tensors' }>, 'id'>, cost = 0): Promise<FromWorker> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.nextId++;
    this.queuedCost += cost;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, cost });
      this.worker.postMessage({ ...message, id } as ToWorker);
    });
  }
}

/**
 * Backbone and model on worker threads, one copy per thread. tfjs-wasm cannot use threads in Node,
 * so this is how the scorer gets more than one core: each batch is split over the threads (see
 * shardRequest), several batches can be queued at once, and the main thread fetches the next batch's
 * images meanwhile.
 */
export class WorkerPoolEngine implements InferenceEngine {
  private constructor(
    readonly info: EngineInfo,
    private readonly threads: InferenceThread[],
  ) {}

  static async start(options: { workers: number; modelDir: string; backbone?: BackboneOptions }): Promise<WorkerPoolEngine> {
    const setup: WorkerSetup = { modelDir: options.modelDir, backbone: options.backbone ?? DEFAULT_BACKBONE_OPTIONS };
    const workers = Array.from({ length: options.workers }, () => spawnInferenceWorker(setup));
    try {
      const infos = await Promise.all(workers.map(waitReady));
      const first = infos[0]!;
      return new WorkerPoolEngine({ ...first, workers: workers.length }, workers.map((w) => new InferenceThread(w)));
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
  }

  async run(request: InferenceRequest): Promise<InferenceResult> {
    // A text batch is split over the idle threads (all of them on a light stream: it is done sooner), or goes whole
    // to the least loaded thread when every one has work queued; a batch with images to embed is split over all
    // (shardCount). The biggest shard goes to the thread with the least work queued, so a batch heavy with new
    // images cannot pile up on one thread while another idles.
    const count = shardCount(this.threads.map((t) => t.queuedCost), request.pixels.length > 0);
    const shards = shardRequest(request, count).sort((a, b) => b.cost - a.cost);
    const results = await Promise.all(
      shards.map(async (shard) => {
        const thread = this.threads.reduce((best, t) => (t.queuedCost < best.queuedCost ? t : best));
        const reply = await thread.ask({ type: 'run', request: shard.request }, shard.cost);
        if (reply.type !== 'result') throw new InferenceWorkerError(`unexpected reply ${reply.type}`);
        return { shard, result: reply.result };
      }),
    );
    const scores = new Array<EmotionScore>(request.items.length);
    const embedded = new Array<ImageFeatures>(request.pixels.length);
    let backboneMs = 0;
    let modelMs = 0;
    for (const { shard, result } of results) {
      shard.itemPositions.forEach((position, local) => (scores[position] = result.scores[local]!));
      shard.pixelPositions.forEach((position, local) => (embedded[position] = result.embedded[local]!));
      backboneMs = Math.max(backboneMs, result.backboneMs);
      modelMs = Math.max(modelMs, result.modelMs);
    }
    return { scores, embedded, backboneMs, modelMs };
  }

  async tensorCounts(): Promise<number[]> {
    const replies = await Promise.all(this.threads.map((t) => t.ask({ type: 'tensors' })));
    return replies.map((reply) => (reply.type === 'tensors' ? reply.count : -1));
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

const WORKER_ENTRY = new URL('./inference-worker', import.meta.url);

function spawnInferenceWorker(setup: WorkerSetup): Worker {
  const ts = new URL(`${WORKER_ENTRY.href}.ts`);
  const js = new URL(`${WORKER_ENTRY.href}.js`);
  if (import.meta.url.endsWith('.ts')) {
    // Run from source: worker threads do not inherit tsx's loader, so the thread registers it first.
    const tsxApi = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => { api.register(); return import(${JSON.stringify(ts.href)}); });`;
    return new Worker(bootstrap, { eval: true, workerData: setup });
  }
  return new Worker(js, { workerData: setup });
}

function waitReady(worker: Worker): Promise<Omit<EngineInfo, 'workers'>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromWorker): void => {
      if (message.type === 'ready') {
        cleanup();
        resolve(message.info);
      } else if (message.type === 'init-failed') {
        cleanup();
        reject(new InferenceWorkerError(`inference thread could not load the model: ${message.message}`));
      }
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new InferenceWorkerError(`inference thread crashed while loading: ${error.message}`));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new InferenceWorkerError(`inference thread exited with code ${code} while loading`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
