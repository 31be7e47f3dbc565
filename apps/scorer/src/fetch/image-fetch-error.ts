import { MoodstreamError } from '@moodstream/core';

export type ImageFetchErrorCode =
  | 'IMAGE_BAD_URL'
  | 'IMAGE_FORBIDDEN_ADDRESS'
  | 'IMAGE_DNS_FAILED'
  | 'IMAGE_CONNECTION_FAILED'
  | 'IMAGE_TIMEOUT'
  | 'IMAGE_HTTP_STATUS'
  | 'IMAGE_TOO_MANY_REDIRECTS'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_NOT_AN_IMAGE';

/** Why one post's image could not be used; the post is then scored on its text. */
export class ImageFetchError extends MoodstreamError {
  constructor(code: ImageFetchErrorCode, message: string, options: { cause?: unknown } = {}) {
    // Not retriable at the batch level: the post degrades to text-only instead of holding up the stream.
    super(code, message, { retriable: false, ...options });
  }
}
