import type { Redis } from 'ioredis';
import type { Bus } from '@moodstream/bus';
import { HEADERS, TOPICS, type Alert } from '@moodstream/events';
import { ALL_TOPICS, LIVE_NAMESPACE, createRedisTrendsStore, type BucketRef, type BucketStats } from '@moodstream/trends';

/**
 * What the pipeline left behind, compared with the ground truth: per topic and 1-minute bucket, posts missing
 * (lost) and posts beyond the truth (counted twice); the "all" topic must equal the sum; alerts fired; dead letters
 * by reason.
 */
export interface Outcome {
  expected: number;
  aggregated: number;
  lost: number;
  twice: number;
  /** "all" buckets that differ from the sum of the topics' truth (a post counted under one and not the other). */
  allMismatch: number;
  /** Bucket statistics keyed `topic@offsetMinute`, for comparing the probabilities with a reference run. */
  stats: Map<string, BucketStats>;
}

export async function measure(redis: Redis, prefix: string, expected: Map<string, Map<number, number>>, baseMs: number): Promise<Outcome> {
  const store = createRedisTrendsStore(redis, { prefix });
  const refs: BucketRef[] = [];
  const truth: number[] = [];
  const allTruth = new Map<number, number>();
  for (const [topic, buckets] of expected) {
    for (const [start, count] of buckets) {
      refs.push({ topic, size: '1m', start });
      truth.push(count);
      allTruth.set(start, (allTruth.get(start) ?? 0) + count);
    }
  }
  const allStarts = [...allTruth.keys()];
  const read = await store.readBuckets(LIVE_NAMESPACE, [...refs, ...allStarts.map((start) => ({ topic: ALL_TOPICS, size: '1m' as const, start }))]);
  const outcome: Outcome = { expected: 0, aggregated: 0, lost: 0, twice: 0, allMismatch: 0, stats: new Map() };
  refs.forEach((ref, i) => {
    const want = truth[i] ?? 0;
    const stats = read[i] ?? null;
    const got = stats?.count ?? 0;
    outcome.expected += want;
    outcome.aggregated += got;
    outcome.lost += Math.max(0, want - got);
    outcome.twice += Math.max(0, got - want);
    if (stats !== null) outcome.stats.set(`${ref.topic}@${(ref.start - baseMs) / 60_000}`, stats);
  });
  allStarts.forEach((start, i) => {
    const got = read[refs.length + i]?.count ?? 0;
    if (got !== allTruth.get(start)) outcome.allMismatch++;
  });
  return outcome;
}

/** Buckets whose statistics (sums of probabilities, top emotions) differ from the reference run's. */
/**
 * Buckets whose aggregates differ from the reference run's beyond rounding. Counts, top-emotion counts and the
 * explicit sum must be equal; each Σp and Σp² (integer micro-units) may differ by at most one unit per post: the
 * fused network on ONNX Runtime rounds the last bits of a probability (~1e-8) by batch size, and the batches of two
 * runs differ, so a probability now and then lands on the other side of a micro-unit. A post counted twice or lost
 * moves the count, and its probabilities move a sum by far more than one unit per post.
 */
export function statsDifferences(reference: Map<string, BucketStats>, run: Map<string, BucketStats>): number {
  let differ = 0;
  for (const [key, stats] of reference) {
    const other = run.get(key);
    if (other === undefined || !sameBeyondRounding(stats, other)) differ++;
  }
  return differ;
}

function sameBeyondRounding(a: BucketStats, b: BucketStats): boolean {
  if (a.count !== b.count || a.explicit !== b.explicit || JSON.stringify(a.top) !== JSON.stringify(b.top)) return false;
  const close = (x: readonly number[], y: readonly number[]): boolean => x.length === y.length && x.every((v, i) => Math.abs(v - (y[i] ?? NaN)) <= a.count);
  return close(a.sum, b.sum) && close(a.sumSq, b.sumSq);
}

export async function liveAlerts(redis: Redis, prefix: string): Promise<Alert[]> {
  return createRedisTrendsStore(redis, { prefix }).listAlerts(LIVE_NAMESPACE, { limit: 1_000 });
}

/** Dead-lettered records by `source topic: reason`. */
export async function deadLetters(bus: Bus): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (bus.readRawByTime === undefined) throw new Error('this bus cannot read a dead-letter topic');
  for await (const batch of bus.readRawByTime({ topic: TOPICS.deadLetter, from: 0, to: Number.MAX_SAFE_INTEGER })) {
    for (const record of batch) {
      const source = record.headers[HEADERS.dlqSourceTopic] ?? '?';
      const reason = (record.headers[HEADERS.dlqReason] ?? '?').split(':')[0] ?? '?';
      const key = `${source.replace(/^.*?moodstream\./, '')}: ${reason}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** Distinct post ids and records on the posts and scored topics: where along the pipeline posts went missing. */
export async function onKafka(bus: Bus): Promise<{ posts: number; postRecords: number; scored: number; scoredRecords: number; imagePosts: number; imageErrors: number; maxFetchMs: number }> {
  const posts = new Set<string>();
  const scored = new Set<string>();
  let postRecords = 0;
  let scoredRecords = 0;
  let imageErrors = 0;
  const imagePosts = new Set<string>();
  let maxFetchMs = 0;
  for await (const batch of bus.readByTime({ topic: TOPICS.posts, eventType: 'Post', from: 0, to: Number.MAX_SAFE_INTEGER })) {
    postRecords += batch.length;
    for (const record of batch) {
      posts.add(record.value.id);
      if (record.value.imageUrl !== null) imagePosts.add(record.value.id);
    }
  }
  for await (const batch of bus.readByTime({ topic: TOPICS.scored, eventType: 'ScoredPost', from: 0, to: Number.MAX_SAFE_INTEGER })) {
    scoredRecords += batch.length;
    for (const record of batch) {
      if (!scored.has(record.value.postId) && record.value.imageError !== null) imageErrors++;
      maxFetchMs = Math.max(maxFetchMs, record.value.latencies.fetchMs ?? 0);
      scored.add(record.value.postId);
    }
  }
  return { posts: posts.size, postRecords, scored: scored.size, scoredRecords, imagePosts: imagePosts.size, imageErrors, maxFetchMs };
}
