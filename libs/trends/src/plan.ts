import { EMOTION_COUNT, type ScoredPost, type WindowSize } from '@moodstream/events';
import { ALL_TOPICS, type ExamplePost } from './api-types';
import { contributionOf } from './bucket';
import type { ExampleCandidate, WriteGroup, WritePlan } from './store';
import { bucketStart, WINDOW_SIZES } from './windows';

export interface PlanOptions {
  /** The topics a post is aggregated under (live: its own topics plus "all"). */
  topicsOf: (post: ScoredPost) => readonly string[];
  /**
   * Example candidates offered per bucket and emotion. The store keeps the best few per bucket;
   * offering only each batch's best keeps the write cheap.
   */
  candidatesPerBucket: number;
}

export const liveTopicsOf = (post: ScoredPost): readonly string[] => [...post.topics, ALL_TOPICS];

export function examplePostOf(post: ScoredPost): ExamplePost {
  return {
    postId: post.postId,
    timestamp: post.timestamp,
    text: post.text,
    imageUrl: post.imageUrl,
    url: post.url,
    probabilities: post.probabilities,
    topEmotion: post.topEmotion,
    modality: post.modality,
    explicit: post.explicit,
  };
}

interface Ranked {
  score: number;
  post: ScoredPost;
}

/** Keeps the `keep` highest scores, best first. */
function offer(best: Ranked[], keep: number, score: number, post: ScoredPost): void {
  if (best.length >= keep && score <= best[best.length - 1]!.score) return;
  if (best.length >= keep) best.pop();
  let i = best.length;
  while (i > 0 && best[i - 1]!.score < score) i--;
  best.splice(i, 0, { score, post });
}

/** Groups a batch by topic and 1-minute bucket and picks example candidates per bucket of every size. */
export function planWrites(posts: readonly ScoredPost[], options: PlanOptions): WritePlan {
  const groups = new Map<string, WriteGroup>();
  const best = new Map<string, { topic: string; size: WindowSize; start: number; ranked: Ranked[][] }>();
  const keep = options.candidatesPerBucket;
  for (const post of posts) {
    const contribution = contributionOf(post);
    const start = bucketStart(post.timestamp, '1m');
    const seenTopics = new Set<string>();
    for (const topic of options.topicsOf(post)) {
      if (seenTopics.has(topic)) continue;
      seenTopics.add(topic);
      const key = `${start}\u0000${topic}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = { topic, start, lastSeen: post.timestamp, posts: [] };
        groups.set(key, group);
      }
      group.posts.push(contribution);
      if (post.timestamp > group.lastSeen) group.lastSeen = post.timestamp;
      for (const size of WINDOW_SIZES) {
        const sizeStart = size === '1m' ? start : bucketStart(start, size);
        const bestKey = `${size}\u0000${sizeStart}\u0000${topic}`;
        let entry = best.get(bestKey);
        if (entry === undefined) {
          entry = { topic, size, start: sizeStart, ranked: Array.from({ length: EMOTION_COUNT }, () => []) };
          best.set(bestKey, entry);
        }
        for (let e = 0; e < EMOTION_COUNT; e++) offer(entry.ranked[e]!, keep, contribution.micro[e] ?? 0, post);
      }
    }
  }
  const examples: ExampleCandidate[] = [];
  for (const entry of best.values()) {
    entry.ranked.forEach((ranked, emotion) => {
      for (const { score, post } of ranked) {
        examples.push({ topic: entry.topic, size: entry.size, start: entry.start, emotion, score, post: examplePostOf(post) });
      }
    });
  }
  return { groups: [...groups.values()], examples };
}
