import { EMOTIONS, type Emotion } from '@moodstream/events';
import type { EmotionModel } from '../emotion-model';

export interface TopWords {
  method: string;
  modelVersion: string;
  emotions: Record<Emotion, Array<{ token: string; probability: number }>>;
}

/**
 * The words the trained text branch reads as most typical of each emotion: every unigram of the model's n-gram list
 * (tokens seen in at least bowMinCount training texts, so no one-off oddities) is scored as a one-word post, and
 * each emotion lists the words that give it the highest calibrated probability.
 */
export async function topWords(model: EmotionModel, options: { perEmotion?: number; batchSize?: number; maxWords?: number } = {}): Promise<TopWords> {
  const perEmotion = options.perEmotion ?? 20;
  const batchSize = options.batchSize ?? 512;
  const candidates = (model.bow?.features ?? model.vocab.words.slice(2))
    .filter((g) => !g.includes(' ') && model.vocab.has(g))
    .slice(0, options.maxWords ?? 20_000);
  const scored: Array<{ token: string; p: number[] }> = [];
  for (let i = 0; i < candidates.length; i += batchSize) {
    const batch = candidates.slice(i, i + batchSize);
    const rows = batch.map((token) => ({ tokens: [token], imageFeatures: null }));
    const { logits, hasText, hasImage } = await model.logits(rows);
    model.calibrate(logits, hasText, hasImage).forEach((p, j) => scored.push({ token: batch[j]!, p }));
  }
  const emotions = Object.fromEntries(
    EMOTIONS.map((e, k) => [
      e,
      [...scored]
        .sort((a, b) => b.p[k]! - a.p[k]! || (a.token < b.token ? -1 : 1))
        .slice(0, perEmotion)
        .map((s) => ({ token: s.token, probability: s.p[k]! })),
    ]),
  ) as TopWords['emotions'];
  return {
    method: `each of ${candidates.length} words from the model's n-gram list (seen in several training texts) scored as a one-word post by the text branch; highest calibrated probability per emotion`,
    modelVersion: model.version,
    emotions,
  };
}
