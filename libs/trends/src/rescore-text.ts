import type { Post, ScoredPost } from '@moodstream/events';

/**
 * Re-scores past Posts with the current model, text only: a replay does not re-fetch images
 * (they may be gone, and fetching is the scorer's job), so such posts say so in `imageError`.
 * Scoring goes through the model's one scoring path (`EmotionScorer`, as the scorer does): same
 * preprocessing, calibration, normalisation and argmax. The model package (TensorFlow.js) is
 * imported only when a re-scoring replay is asked for.
 */
export async function createTextRescorer(modelDir?: string): Promise<(posts: Post[]) => Promise<ScoredPost[]>> {
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
