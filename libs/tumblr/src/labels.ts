import { EMOTIONS, isEmotion, normaliseTag, type Emotion } from '@moodstream/events';

/** The self-reported label: the first of the six emotion tags in the user's own tag order. */
export function labelFromTags(tags: readonly string[]): Emotion | null {
  for (const tag of tags) {
    const normalised = normaliseTag(tag);
    if (isEmotion(normalised)) return normalised;
  }
  return null;
}

const EMOTION_HASHTAG = new RegExp(`(^|[^\\p{L}\\p{N}_])#(?:${EMOTIONS.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');

/** Removes the six emotion hashtags from the text, so a model cannot learn the label from the label. */
export function removeEmotionHashtags(text: string): string {
  return text
    .replace(EMOTION_HASHTAG, '$1')
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/ +\n/g, '\n')
    .trim();
}
