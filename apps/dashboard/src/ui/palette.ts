import type { Emotion } from '@moodstream/events';

/**
 * The one place emotion colours are decided: chart lines, bands, legend, alert dots and probability bars all read
 * from here, so "scared" is the same teal everywhere.
 *
 * The order repeats libs/events' EMOTIONS on purpose: browser bundles must not import the events package at run time
 * (it pulls zod, pino and prom-client into the page). The type below fails to compile if an emotion is missing, and a
 * unit test checks the order against EMOTIONS.
 */
export const EMOTION_ORDER = ['happy', 'sad', 'angry', 'surprised', 'scared', 'disgusted'] as const satisfies readonly Emotion[];

type Exhaustive<T extends never> = T;
export type EmotionOrderCoversAll = Exhaustive<Exclude<Emotion, (typeof EMOTION_ORDER)[number]>>;

/** Six hues spread round the wheel, each readable on the dark background and distinct for common colour-vision deficiencies. */
export const EMOTION_COLORS: Readonly<Record<Emotion, string>> = {
  happy: '#f5b82e',
  sad: '#4c8dff',
  angry: '#ff5a4e',
  surprised: '#c77dff',
  scared: '#2ec4b6',
  disgusted: '#8bc34a',
};

export const EMOTION_LABELS: Readonly<Record<Emotion, string>> = {
  happy: 'Happy',
  sad: 'Sad',
  angry: 'Angry',
  surprised: 'Surprised',
  scared: 'Scared',
  disgusted: 'Disgusted',
};

export function emotionColor(emotion: Emotion): string {
  return EMOTION_COLORS[emotion];
}
