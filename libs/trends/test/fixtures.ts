import { createLogger, type Clock } from '@moodstream/core';
import { argmaxEmotion, type Alert, type ScoredPost } from '@moodstream/events';
import type { SeriesUpdate } from '../src/api-types';
import type { TrendsConfig } from '../src/config';
import { liveRetention, type EngineOptions } from '../src/engine';
import { liveTopicsOf } from '../src/plan';
import { LIVE_NAMESPACE, type TrendsStore } from '../src/store';

/** A ScoredPost with sensible defaults; probabilities in EMOTIONS order. */
export function scoredPost(overrides: Partial<ScoredPost> & { postId: string; timestamp: number }): ScoredPost {
  const probabilities = overrides.probabilities ?? [0.5, 0.1, 0.1, 0.1, 0.1, 0.1];
  return {
    topics: ['cats'],
    probabilities,
    topEmotion: argmaxEmotion(probabilities),
    modality: 'text',
    explicit: null,
    imageError: null,
    label: null,
    modelVersion: 'test',
    latencies: {},
    scoredAt: overrides.timestamp,
    text: `post ${overrides.postId}`,
    imageUrl: null,
    url: null,
    ...overrides,
  };
}

/** 2026-01-01T00:00:00Z: bucket-aligned at every size. */
export const T0 = Date.UTC(2026, 0, 1);

/** An Alert on a 1-minute window ending at `firedAt`, live unless a replay id is given. */
export function testAlert(id: string, firedAt: number, topic = 'cats', replayId: string | null = null): Alert {
  return {
    id,
    topic,
    emotion: 'scared',
    window: { size: '1m', start: firedAt - 60_000, end: firedAt },
    observed: 0.2,
    expected: 0.05,
    count: 200,
    statistic: 9.1,
    pValue: 1e-12,
    threshold: 0.0003,
    examplePostIds: ['p1'],
    firedAt,
    replayId,
    acknowledged: false,
  };
}

/** A live engine's options in tests: the live namespace, a silent logger, series and alerts into the given lists. */
export function liveEngineOptions(parts: { config: TrendsConfig; store: TrendsStore; clock: Clock; alerts?: Alert[]; series?: SeriesUpdate[] }): EngineOptions {
  return {
    ns: LIVE_NAMESPACE,
    replayId: null,
    store: parts.store,
    config: parts.config,
    clock: parts.clock,
    logger: createLogger('test', { level: 'silent' }),
    topicsOf: liveTopicsOf,
    retention: liveRetention(parts.config),
    stateTtlMs: 86_400_000,
    confusion: null,
    onSeries: (u) => void parts.series?.push(u),
    onAlert: (a) => void parts.alerts?.push(a),
  };
}
