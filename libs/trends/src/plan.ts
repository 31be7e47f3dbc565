import { EMOTION_COUNT, type ScoredPost, type WindowSize } from '@moodstream/events';
import { ALL_TOPICS, type ExamplePost } from './api-types';
import { contributionOf, type Contribution } from './bucket';
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
  if (keep <= 0) return;
  const last = best[best.length - 1];
  if (best.length >= keep && last !== undefined && score <= last.score) return;
  if (best.length >= keep) best.pop();
  let i = best.length;
  while (i > 0 && best[i - 1]!.score < score) i--;
  best.splice(i, 0, { score, post });
}

interface PlannedGroup extends WriteGroup {
  /** Best candidates per emotion among this batch's posts of the group. */
  ranked: Ranked[][];
  ids: Set<string>;
}

/**
 * Groups a batch by topic and 1-minute bucket and picks example candidates per bucket of every size
 * (the coarser buckets' candidates are the best of their 1-minute groups' candidates).
 */
export function planWrites(posts: readonly ScoredPost[], options: PlanOptions, contributions?: readonly Contribution[]): WritePlan {
  const byStart = new Map<number, Map<string, PlannedGroup>>();
  const groups: PlannedGroup[] = [];
  const keep = options.candidatesPerBucket;
  for (let i = 0; i < posts.length; i++) {
    const post = posts[i]!;
    const contribution = contributions?.[i] ?? contributionOf(post);
    const start = bucketStart(post.timestamp, '1m');
    let byTopic = byStart.get(start);
    if (byTopic === undefined) {
      byTopic = new Map();
      byStart.set(start, byTopic);
    }
    const topics = options.topicsOf(post);
    for (let t = 0; t < topics.length; t++) {
      const topic = topics[t]!;
      if (topics.indexOf(topic) !== t) continue; // listed twice: still one post for that topic
      let group = byTopic.get(topic);
      if (group === undefined) {
        group = { topic, start, lastSeen: post.timestamp, posts: [], ranked: Array.from({ length: EMOTION_COUNT }, () => []), ids: new Set() };
        byTopic.set(topic, group);
        groups.push(group);
      }
      // The same record twice in one batch (a producer retry) is one post; the store dedupes across batches.
      if (group.ids.has(post.postId)) continue;
      group.ids.add(post.postId);
      group.posts.push(contribution);
      if (post.timestamp > group.lastSeen) group.lastSeen = post.timestamp;
      for (let e = 0; e < EMOTION_COUNT; e++) offer(group.ranked[e]!, keep, contribution.micro[e] ?? 0, post);
    }
  }
  const examples: ExampleCandidate[] = [];
  const coarse = new Map<string, { topic: string; size: WindowSize; start: number; ranked: Ranked[][] }>();
  for (const group of groups) {
    group.ranked.forEach((ranked, emotion) => {
      for (const { score, post } of ranked) examples.push({ topic: group.topic, size: '1m', start: group.start, emotion, score, post: examplePostOf(post) });
    });
    for (const size of WINDOW_SIZES) {
      if (size === '1m') continue;
      const start = bucketStart(group.start, size);
      const key = `${size}\u0000${start}\u0000${group.topic}`;
      let entry = coarse.get(key);
      if (entry === undefined) {
        entry = { topic: group.topic, size, start, ranked: Array.from({ length: EMOTION_COUNT }, () => []) };
        coarse.set(key, entry);
      }
      for (let e = 0; e < EMOTION_COUNT; e++) for (const { score, post } of group.ranked[e]!) offer(entry.ranked[e]!, keep, score, post);
    }
  }
  for (const entry of coarse.values()) {
    entry.ranked.forEach((ranked, emotion) => {
      for (const { score, post } of ranked) examples.push({ topic: entry.topic, size: entry.size, start: entry.start, emotion, score, post: examplePostOf(post) });
    });
  }
  return { groups: groups.map(({ topic, start, lastSeen, posts: groupPosts }) => ({ topic, start, lastSeen, posts: groupPosts })), examples };
}
