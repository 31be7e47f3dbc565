import type { Post, ScoredPost } from '@moodstream/events';

export type Rescore = (posts: Post[]) => Promise<ScoredPost[]>;

/**
 * The models a re-scoring replay may choose from. `versions` lists the names a request may give (`modelVersion`);
 * `resolve(null)` names the one used when a request gives none; `load` returns a version's scoring (once per version).
 */
export interface ReplayRescorer {
  versions(): Promise<string[]>;
  resolve(version: string | null): Promise<string>;
  load(version: string): Promise<Rescore>;
}

/** The name of the shipped model (`models/default`) among the registry's versions. */
export const SHIPPED_MODEL = 'default';

/**
 * Re-scores past Posts with the current model, text only: a replay does not re-fetch images
 * (they may be gone, and fetching is the scorer's job), so such posts say so in `imageError`.
 * Scoring goes through the model's one scoring path (`EmotionScorer`, as the scorer does): same
 * preprocessing, calibration, normalisation and argmax, and the model's own version on each post. The model
 * package (TensorFlow.js) is imported only when a re-scoring replay is asked for.
 */
export async function createTextRescorer(modelDir?: string): Promise<Rescore> {
  const { EmotionScorer, initBackend, scoredPost } = await import('@moodstream/model');
  await initBackend();
  const scorer = await EmotionScorer.load({ ...(modelDir === undefined ? {} : { modelDir }), images: false });
  return async (posts) => {
    const scores = await scorer.score(posts.map((post) => ({ text: post.text })));
    const scoredAt = Date.now();
    return posts.map((post, i) =>
      scoredPost(post, scores[i]!, {
        explicit: null,
        imageError: post.imageUrl === null ? null : 'image not re-fetched during a re-scoring replay',
        latencies: {},
        scoredAt,
      }),
    );
  };
}

/** One fixed model (the replay CLI's `--model`): it is the only version, under the shipped model's name. */
export function fixedRescorer(rescore: Rescore): ReplayRescorer {
  return {
    versions: () => Promise.resolve([SHIPPED_MODEL]),
    resolve: (version) => Promise.resolve(version ?? SHIPPED_MODEL),
    load: () => Promise.resolve(rescore),
  };
}

/**
 * The model registry's versions (`<registryDir>/<version>/`, libs/model/src/registry) and the shipped model as
 * `default`. A request without a version gets the promoted one (CURRENT.json), or the shipped model when nothing is
 * promoted. Loaded models are kept: a second replay with the same version does not load it again.
 */
export function registryRescorer(options: { registryDir: string; shippedDir: string }): ReplayRescorer {
  const loaded = new Map<string, Promise<Rescore>>();
  const registry = async () => {
    const { ModelRegistry } = await import('@moodstream/model');
    return new ModelRegistry(options.registryDir);
  };
  return {
    async versions() {
      return [SHIPPED_MODEL, ...(await (await registry()).versions()).filter((v) => v !== SHIPPED_MODEL)];
    },
    async resolve(version) {
      if (version !== null) return version;
      return (await (await registry()).current())?.version ?? SHIPPED_MODEL;
    },
    load(version) {
      let rescore = loaded.get(version);
      if (rescore === undefined) {
        rescore = registry().then((r) => createTextRescorer(version === SHIPPED_MODEL ? options.shippedDir : r.dirOf(version)));
        // A failed load is not kept: the next replay tries again.
        rescore.catch(() => loaded.delete(version));
        loaded.set(version, rescore);
      }
      return rescore;
    },
  };
}
