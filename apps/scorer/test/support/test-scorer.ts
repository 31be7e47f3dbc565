import { createMetricsRegistry, errorMessage, parseConfig, sleep, type Registry } from '@moodstream/core';
import { createScorerApp, type ScorerApp, type ScorerAppOptions } from '../../src/app';
import { ScorerConfigSchema, type ScorerConfig } from '../../src/config';

/**
 * The scorer's config for tests and benchmarks: images may come from 127.0.0.1, the ops port is free, the model is
 * SCORER_MODEL_DIR's (the shipped default when unset); `overrides` last.
 */
export function testScorerConfig(overrides: Record<string, string> = {}): ScorerConfig {
  return parseConfig(ScorerConfigSchema, {
    SCORER_MODEL_DIR: process.env['SCORER_MODEL_DIR'] ?? '',
    SCORER_IMAGE_ALLOWLIST: '127.0.0.1',
    SCORER_METRICS_PORT: '0',
    ...overrides,
  });
}

export interface TestScorer {
  app: ScorerApp;
  registry: Registry;
  /** The error the scorer died of (what it handed to onFatal), or null while it works. */
  fatal(): unknown;
}

/** A scorer on its own registry whose onFatal is recorded, so a wait can stop at once when it dies. */
export function createTestScorer(options: Omit<ScorerAppOptions, 'registry' | 'onFatal'>): TestScorer {
  const registry = createMetricsRegistry('scorer', { defaultMetrics: false });
  let fatal: unknown = null;
  const app = createScorerApp({
    ...options,
    registry,
    onFatal: (error) => {
      fatal = error;
    },
  });
  return { app, registry, fatal: () => fatal };
}

/** Polls `condition` until it holds; fails after `timeoutMs`, or at once if `scorer` died meanwhile. */
export async function waitFor(what: string, condition: () => boolean, options: { timeoutMs: number; pollMs?: number; scorer?: TestScorer }): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  while (!condition()) {
    const fatal = options.scorer?.fatal() ?? null;
    if (fatal !== null) throw new Error(`the scorer died while waiting for ${what}: ${errorMessage(fatal)}`, { cause: fatal });
    if (performance.now() > deadline) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}`);
    await sleep(options.pollMs ?? 10);
  }
}
