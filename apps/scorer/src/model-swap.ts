import { AsyncLocalStorage } from 'node:async_hooks';
import { errorMessage, sleep, systemClock, type Clock, type Logger } from '@moodstream/core';
import { ModelRegistry } from '@moodstream/model';
import type { EngineInfo, InferenceEngine, InferenceRequest, InferenceResult } from './inference/inference-engine';

export interface ModelSwapOptions {
  /** Registry folder whose CURRENT.json names the promoted version (`npm run learn` moves it). */
  registryDir: string;
  /** How often the pointer is read. */
  pollMs: number;
  /** Loads an engine for a model folder, the same way the scorer loaded its first one. */
  load: (modelDir: string) => Promise<InferenceEngine>;
  logger: Logger;
  clock?: Clock;
  /** Told after each swap (metrics, tests). */
  onSwap?: (from: EngineInfo, to: EngineInfo) => void;
}

/**
 * Hot swap of the scoring model. An InferenceEngine that forwards to the current engine and follows the
 * model registry: when its pointer names another version, the new engine is loaded beside the old one
 * (scoring goes on meanwhile), then becomes current between two batches. A batch is pinned to the engine
 * that was current when it started (`pinned`), so the batch in flight finishes on the old version and,
 * since batches start in offset order, versions change once and monotonically within each partition. The
 * old engine is closed when its last pinned batch is done. Nothing is re-read or re-scored: the swap
 * happens between batches, not by restarting the consumer.
 */
export class ModelSwap implements InferenceEngine {
  private current: InferenceEngine;
  private readonly leases = new Map<InferenceEngine, number>();
  private readonly retired = new Map<InferenceEngine, () => void>();
  private readonly pin = new AsyncLocalStorage<InferenceEngine>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> | null = null;
  private checking: Promise<boolean> | null = null;
  private readonly registry: ModelRegistry;
  private swaps = 0;

  constructor(
    initial: InferenceEngine,
    private readonly options: ModelSwapOptions,
  ) {
    this.current = initial;
    this.registry = new ModelRegistry(options.registryDir);
  }

  get info(): EngineInfo {
    return this.current.info;
  }

  /** How many times the model was swapped since start. */
  get swapCount(): number {
    return this.swaps;
  }

  /** Runs `fn` (one batch) with the current engine pinned: every `run` inside it uses that engine. */
  async pinned<T>(fn: () => Promise<T>): Promise<T> {
    const engine = this.current;
    this.leases.set(engine, (this.leases.get(engine) ?? 0) + 1);
    try {
      return await this.pin.run(engine, fn);
    } finally {
      const left = (this.leases.get(engine) ?? 1) - 1;
      if (left > 0) this.leases.set(engine, left);
      else {
        this.leases.delete(engine);
        this.retired.get(engine)?.();
      }
    }
  }

  run(request: InferenceRequest): Promise<InferenceResult> {
    return (this.pin.getStore() ?? this.current).run(request);
  }

  tensorCounts(): Promise<number[]> {
    return this.current.tensorCounts();
  }

  /** Starts following the registry (first read at once). */
  start(): void {
    this.loop ??= (async () => {
      do {
        await this.checkNow();
      } while (await sleep(this.options.pollMs, { clock: this.options.clock ?? systemClock, signal: this.stopping.signal }));
    })();
  }

  /**
   * Reads the registry pointer and swaps when it names a version other than the one serving. True when it
   * swapped. A failed read or load keeps the current model (logged; the next poll tries again).
   */
  checkNow(): Promise<boolean> {
    this.checking ??= this.check().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async check(): Promise<boolean> {
    const { logger } = this.options;
    let next: InferenceEngine;
    try {
      const pointer = await this.registry.current();
      if (pointer === null || pointer.version === this.current.info.modelVersion || this.stopping.signal.aborted) return false;
      logger.info({ from: this.current.info.modelVersion, to: pointer.version }, 'model registry promoted a new version: loading it');
      next = await this.options.load(this.registry.dirOf(pointer.version));
    } catch (error) {
      logger.warn({ err: errorMessage(error), registry: this.options.registryDir }, 'model registry check failed; the current model keeps serving');
      return false;
    }
    if (this.stopping.signal.aborted) {
      await next.close();
      return false;
    }
    const old = this.current;
    this.current = next;
    this.swaps++;
    logger.info({ from: old.info.modelVersion, to: next.info.modelVersion }, 'model swapped: new batches use the new version');
    this.options.onSwap?.(old.info, next.info);
    void this.retire(old);
    return true;
  }

  /** Closes an engine once no batch is pinned to it. */
  private async retire(engine: InferenceEngine): Promise<void> {
    if ((this.leases.get(engine) ?? 0) > 0) await new Promise<void>((resolve) => this.retired.set(engine, resolve));
    this.retired.delete(engine);
    await engine.close().catch((error: unknown) => this.options.logger.warn({ err: errorMessage(error) }, 'closing the replaced model failed'));
  }

  /** Stops following the registry, waits for a load in progress, and closes the current engine. */
  async close(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await this.checking;
    await this.current.close();
  }
}

/** Runs one batch pinned to the model version current when it starts, when the engine follows a registry. */
export function pinnedToOneModel<T>(engine: InferenceEngine | null, fn: () => Promise<T>): Promise<T> {
  return engine instanceof ModelSwap ? engine.pinned(fn) : fn();
}

/**
 * With a registry folder configured, wraps the scorer's engine in a ModelSwap that follows it: a version
 * promoted before boot is loaded before the first post is scored, later ones are swapped in while running.
 * Without one, the engine is returned as it is.
 */
export async function followModelRegistry(
  engine: InferenceEngine,
  options: Omit<ModelSwapOptions, 'registryDir'> & { registryDir: string },
): Promise<InferenceEngine> {
  if (options.registryDir === '') return engine;
  const swap = new ModelSwap(engine, options);
  await swap.checkNow();
  swap.start();
  return swap;
}
