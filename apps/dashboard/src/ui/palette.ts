import type { Emotion } from '@moodstream/events';

/**
 * The one place emotion colours and names are decided: chart lines, bands, legend, alert dots and probability bars all
 * read from here, so "scared" is the same teal everywhere. Keyed by emotion, never by position: the order is
 * EMOTIONS from @moodstream/events, and a missing emotion fails to compile.
 */

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
