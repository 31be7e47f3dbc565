import sharp from 'sharp';
import { ImageDecodeError } from '../errors';

/**
 * libvips threads per decode (sharp.concurrency, process-wide). sharp's default is one per core, but the
 * scorer decodes many images at once next to the backbone: one thread per decode avoids oversubscribing.
 */
export function setDecodeThreads(threads: number): void {
  sharp.concurrency(Math.max(1, Math.floor(threads)));
}

/** Decompression-bomb guard: images above this many pixels are refused before decoding. */
export const DEFAULT_LIMIT_INPUT_PIXELS = 40_000_000;

/**
 * Decodes any image sharp understands to the backbone's input: EXIF-rotated, shorter side resized
 * to inputSize, centre-cropped to inputSize×inputSize, alpha dropped, sRGB.
 * @returns Uint8Array of length inputSize*inputSize*3, row-major RGB (HWC), values 0..255.
 * @throws ImageDecodeError (IMAGE_DECODE_FAILED, not retriable) on non-images or oversize images.
 */
export async function preprocessImage(
  bytes: Buffer | Uint8Array,
  inputSize: number,
  options: { limitInputPixels?: number } = {},
): Promise<Uint8Array> {
  if (bytes.length === 0) throw new ImageDecodeError('image is empty');
  try {
    const { data, info } = await sharp(bytes, {
      limitInputPixels: options.limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS,
      failOn: 'error',
    })
      .rotate()
      .resize(inputSize, inputSize, { fit: 'cover', position: 'centre' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== inputSize || info.height !== inputSize) {
      throw new ImageDecodeError(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${inputSize}x${inputSize}x3`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    throw new ImageDecodeError(`cannot decode image: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
