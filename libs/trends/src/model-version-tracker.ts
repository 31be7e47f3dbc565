import type { Logger } from '@moodstream/core';
import type { ModelVersionChange, ModelVersionsQuery, ScoredPost } from '@moodstream/events';
import { liveTopicsOf } from './plan';
import type { ModelVersionSighting, ModelVersionStore } from './model-version-store';

/** Pairs remembered as stored before the memory is cleared (and each pair is asked of the store once more). */
const MAX_KNOWN_PAIRS = 100_000;
const DAY_MS = 86_400_000;

export interface ModelVersionTracker {
  /** Notes the (topic, version) pairs of a live batch; new ones are stored and announced. Never throws. */
  observe(posts: readonly ScoredPost[]): Promise<void>;
  /** The topic's version changes in a range (default: the 7 days before `to`, `to` a day after now). */
  list(query: ModelVersionsQuery, now: number): Promise<ModelVersionChange[]>;
}

/**
 * Watches the live ScoredPosts for the model version that scored them. A batch costs a map lookup per post and
 * topic; the store is asked only about a pair this process has not stored yet, so it is reached when a version is
 * new (a promotion), not per batch. A store failure is logged and the pair asked again with the next batch: the
 * marker is a courtesy and must never hold the aggregation up.
 */
export function createModelVersionTracker(store: ModelVersionStore, options: { logger: Logger; onChange: (change: ModelVersionChange) => void }): ModelVersionTracker {
  // version → topics stored with it (a Map of Sets: no string is built per post).
  const known = new Map<string, Set<string>>();
  let knownPairs = 0;
  return {
    async observe(posts) {
      let fresh: Map<string, ModelVersionSighting> | null = null;
      for (const post of posts) {
        const topics = known.get(post.modelVersion);
        for (const topic of liveTopicsOf(post)) {
          if (topics?.has(topic) === true) continue;
          fresh ??= new Map();
          const key = `${topic}\n${post.modelVersion}`;
          const seen = fresh.get(key);
          if (seen === undefined || post.timestamp < seen.at) fresh.set(key, { topic, version: post.modelVersion, at: post.timestamp });
        }
      }
      if (fresh === null) return;
      const sightings = [...fresh.values()];
      let changes: ModelVersionChange[];
      try {
        changes = await store.record(sightings);
      } catch (error) {
        options.logger.warn({ err: error, pairs: sightings.length }, 'could not record model versions; retried with the next batch');
        return;
      }
      if (knownPairs + sightings.length > MAX_KNOWN_PAIRS) {
        known.clear();
        knownPairs = 0;
      }
      for (const s of sightings) {
        let topics = known.get(s.version);
        if (topics === undefined) known.set(s.version, (topics = new Set()));
        if (!topics.has(s.topic)) knownPairs++;
        topics.add(s.topic);
      }
      for (const change of changes) options.onChange(change);
    },
    list(query, now) {
      const to = query.to ?? now + DAY_MS;
      const from = query.from ?? to - 7 * DAY_MS;
      return store.list({ topic: query.topic, from, to });
    },
  };
}
