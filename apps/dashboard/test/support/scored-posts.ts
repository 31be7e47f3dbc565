import { EMOTIONS, type Emotion, type ScoredPostInput } from '@moodstream/events';

export { seededRandom } from '@moodstream/trends';

export const CALM: Readonly<Record<Emotion, number>> = { happy: 0.35, sad: 0.2, angry: 0.12, surprised: 0.13, scared: 0.08, disgusted: 0.12 };

function pick(weights: Readonly<Record<Emotion, number>>, r: number): Emotion {
  const total = EMOTIONS.reduce((s, e) => s + weights[e], 0);
  let x = r * total;
  for (const e of EMOTIONS) {
    x -= weights[e];
    if (x < 0) return e;
  }
  return EMOTIONS[EMOTIONS.length - 1] as Emotion;
}

/** 0.55 on the top emotion and 0.09 on each other one: sums to exactly 1. */
export function probabilitiesFor(top: Emotion): number[] {
  return EMOTIONS.map((e) => (e === top ? 0.55 : 0.09));
}

let serial = 0;

/** `perMinute` scored posts on `topic` in the minute starting at `minuteStart`, top emotions drawn from `weights`. */
export function minuteOfPosts(topic: string, minuteStart: number, perMinute: number, weights: Readonly<Record<Emotion, number>>, random: () => number): ScoredPostInput[] {
  return Array.from({ length: perMinute }, (_, i) => {
    const top = pick(weights, random());
    return scoredPost({ topic, timestamp: minuteStart + Math.floor(((i + 0.5) / perMinute) * 60_000), top, text: `${top} thoughts #${serial}` });
  });
}

export function scoredPost(p: { topic: string; timestamp: number; top: Emotion; text: string; imageUrl?: string; explicit?: number; id?: string }): ScoredPostInput {
  serial++;
  return {
    postId: p.id ?? `e2e-${serial}`,
    topics: [p.topic],
    timestamp: p.timestamp,
    probabilities: probabilitiesFor(p.top),
    topEmotion: p.top,
    modality: p.imageUrl === undefined ? 'text' : 'both',
    explicit: p.imageUrl === undefined ? null : (p.explicit ?? 0),
    modelVersion: 'e2e-test',
    latencies: {},
    scoredAt: p.timestamp + 500,
    text: p.text,
    imageUrl: p.imageUrl ?? null,
    url: 'https://example.tumblr.com/post/1',
  };
}
