import { EMOTIONS, type Emotion, type Post, type ScoredPost } from '@moodstream/events';

/**
 * Re-scores past Posts with the current model, text only: a replay does not re-fetch images
 * (they may be gone, and fetching is the scorer's job), so such posts say so in `imageError`.
 * The model package (TensorFlow.js) is imported only when a re-scoring replay is asked for.
 */
export async function createTextRescorer(modelDir?: string): Promise<(posts: Post[]) => Promise<ScoredPost[]>> {
  const { DEFAULT_MODEL_DIR, EmotionModel, initBackend } = await import('@moodstream/model');
  await initBackend();
  const model = await EmotionModel.load(modelDir ?? DEFAULT_MODEL_DIR);
  const modelVersion = model.config.version;
  return async (posts) => {
    const predictions = await model.predict(posts.map((post) => ({ text: post.text })));
    const scoredAt = Date.now();
    return posts.map((post, i): ScoredPost => {
      const probabilities = predictions[i]?.probabilities ?? EMOTIONS.map(() => 1 / EMOTIONS.length);
      let top = 0;
      probabilities.forEach((p, k) => {
        if (p > (probabilities[top] ?? 0)) top = k;
      });
      return {
        postId: post.id,
        topics: post.topics,
        timestamp: post.timestamp,
        probabilities,
        topEmotion: EMOTIONS[top] as Emotion,
        modality: 'text',
        explicit: null,
        imageError: post.imageUrl === null ? null : 'image not re-fetched during a re-scoring replay',
        label: post.label,
        modelVersion,
        latencies: {},
        scoredAt,
        text: post.text.slice(0, 2_000),
        imageUrl: post.imageUrl,
        url: post.url,
      };
    });
  };
}
