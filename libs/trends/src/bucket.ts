import { EMOTION_COUNT, EMOTIONS, type ScoredPost } from '@moodstream/events';

/**
 * Probabilities are stored as integer micro-units (p × 10^6) so that sums are exact and order-independent:
 * the same posts give bit-identical aggregates whatever the batching, redelivery or store.
 */
export const MICRO = 1_000_000;

/** A post's explicit score at or above this counts it as explicit content. */
export const EXPLICIT_THRESHOLD = 0.5;

/** What one post adds to a bucket. */
export interface Contribution {
  postId: string;
  /** Probabilities in EMOTIONS order, micro-units. */
  micro: number[];
  /** Index of the top emotion in EMOTIONS. */
  top: number;
  explicit: boolean;
}

/** The sufficient statistics of a bucket. Sums are in micro-units. */
export interface BucketStats {
  count: number;
  /** Σ p per emotion (micro-units). */
  sum: number[];
  /** Σ p² per emotion (micro-units of p²), for the per-post variance behind the intervals. */
  sumSq: number[];
  /** Posts whose top prediction was each emotion. */
  top: number[];
  explicit: number;
}

export function emptyStats(): BucketStats {
  return {
    count: 0,
    sum: new Array<number>(EMOTION_COUNT).fill(0),
    sumSq: new Array<number>(EMOTION_COUNT).fill(0),
    top: new Array<number>(EMOTION_COUNT).fill(0),
    explicit: 0,
  };
}

/** p² in micro-units, rounded the same way everywhere (the Lua script mirrors this). */
export function microSquare(micro: number): number {
  return Math.floor((micro * micro) / MICRO + 0.5);
}

export function contributionOf(post: ScoredPost): Contribution {
  const micro = post.probabilities.map((p) => Math.round(p * MICRO));
  return {
    postId: post.postId,
    micro,
    top: EMOTIONS.indexOf(post.topEmotion),
    explicit: post.explicit !== null && post.explicit >= EXPLICIT_THRESHOLD,
  };
}

export function addContribution(stats: BucketStats, c: Contribution): void {
  stats.count += 1;
  for (let i = 0; i < EMOTION_COUNT; i++) {
    const m = c.micro[i] ?? 0;
    stats.sum[i] = (stats.sum[i] ?? 0) + m;
    stats.sumSq[i] = (stats.sumSq[i] ?? 0) + microSquare(m);
  }
  stats.top[c.top] = (stats.top[c.top] ?? 0) + 1;
  if (c.explicit) stats.explicit += 1;
}

export function mergeStats(into: BucketStats, from: BucketStats): void {
  into.count += from.count;
  for (let i = 0; i < EMOTION_COUNT; i++) {
    into.sum[i] = (into.sum[i] ?? 0) + (from.sum[i] ?? 0);
    into.sumSq[i] = (into.sumSq[i] ?? 0) + (from.sumSq[i] ?? 0);
    into.top[i] = (into.top[i] ?? 0) + (from.top[i] ?? 0);
  }
  into.explicit += from.explicit;
}

/** Field names of a bucket hash; the Redis Lua script writes the same ones. */
export const FIELD = {
  count: 'n',
  sum: (i: number) => `p${i}`,
  sumSq: (i: number) => `q${i}`,
  top: (i: number) => `t${i}`,
  explicit: 'x',
} as const;

export function statsToFields(stats: BucketStats): Record<string, string> {
  const fields: Record<string, string> = { [FIELD.count]: String(stats.count), [FIELD.explicit]: String(stats.explicit) };
  for (let i = 0; i < EMOTION_COUNT; i++) {
    fields[FIELD.sum(i)] = String(stats.sum[i] ?? 0);
    fields[FIELD.sumSq(i)] = String(stats.sumSq[i] ?? 0);
    fields[FIELD.top(i)] = String(stats.top[i] ?? 0);
  }
  return fields;
}

export function statsFromFields(fields: Record<string, string>): BucketStats {
  const num = (key: string): number => {
    const value = fields[key];
    return value === undefined ? 0 : Number(value);
  };
  const stats = emptyStats();
  stats.count = num(FIELD.count);
  stats.explicit = num(FIELD.explicit);
  for (let i = 0; i < EMOTION_COUNT; i++) {
    stats.sum[i] = num(FIELD.sum(i));
    stats.sumSq[i] = num(FIELD.sumSq(i));
    stats.top[i] = num(FIELD.top(i));
  }
  return stats;
}
