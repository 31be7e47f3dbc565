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

/** Runs one Redis call of a trends store: a failure becomes a RedisStoreError naming `what` (project errors pass). */
export async function redisCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof MoodstreamError) throw error;
    throw new RedisStoreError(`redis ${what} failed: ${(error as Error).message}`, error);
  }
}
