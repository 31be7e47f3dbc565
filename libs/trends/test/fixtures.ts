import { argmaxEmotion, type ScoredPost } from '@moodstream/events';

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
