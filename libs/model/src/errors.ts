import { MoodstreamError } from '@moodstream/core';

/** The bytes are not a decodable image (or exceed the pixel cap): the post falls back to text-only. */
export class ImageDecodeError extends MoodstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('IMAGE_DECODE_FAILED', message, options);
  }
}

/** A model folder is missing a file or holds something this version cannot read. */
export class ModelFormatError extends MoodstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('MODEL_FORMAT_INVALID', message, options);
  }
}
