import { MoodstreamError, type ErrorCode } from '@moodstream/core';

/** The IMAGE_* codes of the closed list that fetching raises (decoding, IMAGE_DECODE_FAILED, is the model library's). */
export type ImageFetchErrorCode = Exclude<Extract<ErrorCode, `IMAGE_${string}`>, 'IMAGE_DECODE_FAILED'>;

/**
 * Why one post's image could not be used; the post is then scored on its text. None of these codes is
 * retriable (see error-codes.ts): the post degrades to text-only instead of holding up the stream.
 */
export class ImageFetchError extends MoodstreamError {
  constructor(code: ImageFetchErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
