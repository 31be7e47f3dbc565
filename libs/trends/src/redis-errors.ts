import { MoodstreamError } from '@moodstream/core';

/** A failed Redis call of the trends store (buckets, alerts or word-shift tables). */
export class RedisStoreError extends MoodstreamError {
  constructor(message: string, cause: unknown) {
    super('TRENDS_REDIS', message, { cause });
  }
}

/** Escapes Redis glob characters, so a prefix or namespace matches only itself in SCAN MATCH. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
