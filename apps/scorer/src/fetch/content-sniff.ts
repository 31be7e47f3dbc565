export type SniffedImageType = 'jpeg' | 'png' | 'gif' | 'webp';

/** Bytes needed to tell the supported formats apart. */
export const SNIFF_BYTES = 12;

/**
 * Identifies an image by its leading magic bytes. The Content-Type header is the sender's claim
 * and is not trusted; what decodes is decided by what the bytes are.
 */
export function sniffImageType(head: Uint8Array): SniffedImageType | null {
  const at = (i: number): number => head[i] ?? -1;
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return 'jpeg';
  if ([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((byte, i) => at(i) === byte)) return 'png';
  if (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP') return 'webp';
  return null;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  if (bytes.length < end) return '';
  return String.fromCharCode(...bytes.subarray(start, end));
}
