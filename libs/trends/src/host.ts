import type { Bus } from '@moodstream/bus';
import type { Clock, Logger, Registry } from '@moodstream/core';
import { topicNames, type Post, type ScoredPost } from '@moodstream/events';
import type { TrendsConfig } from './config';
import type { TopicAlertRule } from './detector';
import { loadConfusion, type ConfusionMatrix } from './confusion';
import { createTrendsMetrics } from './metrics';
import type { ModelVersionStore } from './model-version-store';
import { createTrendsService, type TrendsService, type TrendsTopics } from './service';
import type { ReplayRegistry } from './replay-registry';
import type { ReplayRescorer } from './rescore-text';
import type { TrendsStore } from './store';

export interface TrendsHostOptions {
  bus: Bus;
  store: TrendsStore;
  config: TrendsConfig;
  logger: Logger;
  /** The process's registry (`runtime.registry`): the trends metrics carry the same names in every host. */
  registry: Registry;
  /** Default: the standard topic names without a prefix. */
  topics?: TrendsTopics;
  /** Default: `moodstream-trends`, shared by every process that aggregates. */
  groupId?: string;
  /** Run the live consumer (default true); false serves queries and replays only. */
  consume?: boolean;
  rescore?: (posts: Post[]) => Promise<ScoredPost[]>;
  /** Re-scoring replays with a model-registry version (`registryRescorer`). */
  rescorer?: ReplayRescorer;
  /** The replay registry shared by the instances on one store (`createRedisReplayRegistry`); default: memory. */
  replayRegistry?: ReplayRegistry;
  clock?: Clock;
  /** Called once when the live consumer stops for good (pass `runtime.crash('trends')`). */
  onFatal: (error: unknown) => void;
  /** Per-topic alert rules for live alerts (`alertRulesReader(store)`); none: the global settings for every topic. */
  alertRules?: () => Promise<ReadonlyMap<string, TopicAlertRule>>;
  /** Where each topic's model versions are first seen (`createRedisModelVersionStore`); default: memory. */
  modelVersions?: ModelVersionStore;
}

export const DEFAULT_TRENDS_GROUP_ID = 'moodstream-trends';

/** The confusion matrix if the model ships one; corrected shares are simply null otherwise. */
async function optionalConfusion(path: string, logger: Logger): Promise<ConfusionMatrix | null> {
  try {
    return await loadConfusion(path);
  } catch (error) {
    logger.warn({ path, reason: (error as Error).message }, 'no usable confusion matrix: corrected shares will be null');
    return null;
  }
}

/**
 * The trends service as every process hosts it (the standalone aggregator, the dashboard, `npm start`):
 * the confusion matrix, the `moodstream_trends_*` metrics in the host's registry and the service itself,
 * a part to hand to `runtime.start('trends', …)`. No I/O beyond reading the confusion file until `start`.
 */
export async function createTrendsHost(options: TrendsHostOptions): Promise<TrendsService> {
  const confusion = await optionalConfusion(options.config.TRENDS_CONFUSION_PATH, options.logger);
  let service: TrendsService | null = null;
  const metrics = createTrendsMetrics(options.registry, () => service);
  service = createTrendsService({
    bus: options.bus,
    store: options.store,
    logger: options.logger,
    config: options.config,
    topics: options.topics ?? topicNames(),
    groupId: options.groupId ?? DEFAULT_TRENDS_GROUP_ID,
    confusion,
    metrics,
    consume: options.consume ?? true,
    onFatal: options.onFatal,
    ...(options.rescore === undefined ? {} : { rescore: options.rescore }),
    ...(options.rescorer === undefined ? {} : { rescorer: options.rescorer }),
    ...(options.replayRegistry === undefined ? {} : { replayRegistry: options.replayRegistry }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.alertRules === undefined ? {} : { alertRules: options.alertRules }),
    ...(options.modelVersions === undefined ? {} : { modelVersions: options.modelVersions }),
  });
  return service;
}
