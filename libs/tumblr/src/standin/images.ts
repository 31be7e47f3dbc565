import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { fnv1a32 } from '@moodstream/core';

/**
 * Images the stand-in serves, generated on first request and memoised, so nothing binary is committed
 * and tests can exercise every way an image fetch goes wrong. The routes are a contract with the scorer's
 * tests; they are listed in README.md beside this file and must stay stable.
 */
export interface ServedImage {
  status: number;
  contentType: string;
  body: Buffer;
}

export const IMAGE_LIMITS = {
  /** Largest edge a sized route (`/images/<name>_<w>x<h>.jpg`) will render. */
  maxEdge: 2048,
  defaultWidth: 640,
  defaultHeight: 480,
} as const;

/** Names with a fixed, special meaning; every other name is an ordinary picture. */
export const SPECIAL_IMAGES = {
  /** 8000×8000 px (64 MP) but small in bytes: trips a pixel cap, not a byte cap. */
  huge: 'huge.jpg',
  /** 2500×2500 px of noise at quality 100: about 8 MB, trips a byte cap. */
  heavy: 'heavy.jpg',
  /** Served as image/jpeg but the body is HTML. */
  notAnImage: 'not-an-image.jpg',
  /** A valid PNG claiming 30000×30000 px (900 MP) in about 100 KB: a decompression bomb. */
  bomb: 'bomb.png',
  /** The first 40% of a real JPEG. */
  truncated: 'truncated.jpg',
} as const;

const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const SIZED = /^([a-z0-9][a-z0-9-]{0,63})_(\d{1,4})x(\d{1,4})\.(jpg|png)$/;
const PLAIN = /^([a-z0-9][a-z0-9-]{0,63})\.(jpg|png)$/;

const cache = new Map<string, Promise<ServedImage>>();
const CACHE_LIMIT = 256;

/** Resolves the file part of `/images/<file>` to an image, a 404, or null when the name is not valid. */
export function imageFor(file: string): Promise<ServedImage> {
  const cached = cache.get(file);
  if (cached !== undefined) return cached;
  const produced = produce(file);
  if (cache.size >= CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(file, produced);
  // A failed render must not stay cached.
  produced.catch(() => cache.delete(file));
  return produced;
}

async function produce(file: string): Promise<ServedImage> {
  if (file.startsWith('missing-')) return notFound(file);
  switch (file) {
    case SPECIAL_IMAGES.huge:
      return jpeg(await render('huge', 8000, 8000, 'jpg', { quality: 80 }));
    case SPECIAL_IMAGES.heavy:
      return jpeg(await renderNoise(2500, 2500));
    case SPECIAL_IMAGES.notAnImage:
      return {
        status: 200,
        contentType: 'image/jpeg',
        body: Buffer.from('<!doctype html><html><body><p>This is not an image.</p></body></html>\n'),
      };
    case SPECIAL_IMAGES.bomb:
      return { status: 200, contentType: 'image/png', body: decompressionBombPng(30_000, 30_000) };
    case SPECIAL_IMAGES.truncated: {
      const whole = await render('truncated', IMAGE_LIMITS.defaultWidth, IMAGE_LIMITS.defaultHeight, 'jpg');
      return jpeg(whole.subarray(0, Math.floor(whole.length * 0.4)));
    }
    default:
      break;
  }
  const sized = SIZED.exec(file);
  if (sized !== null) {
    const [, name, w, h, ext] = sized as unknown as [string, string, string, string, 'jpg' | 'png'];
    const width = Number(w);
    const height = Number(h);
    if (width < 1 || height < 1 || width > IMAGE_LIMITS.maxEdge || height > IMAGE_LIMITS.maxEdge) return notFound(file);
    return encoded(ext, await render(name, width, height, ext));
  }
  const plain = PLAIN.exec(file);
  if (plain !== null) {
    const [, name, ext] = plain as unknown as [string, string, 'jpg' | 'png'];
    return encoded(ext, await render(name, IMAGE_LIMITS.defaultWidth, IMAGE_LIMITS.defaultHeight, ext));
  }
  return notFound(file);
}

export function isValidImageName(name: string): boolean {
  return NAME.test(name);
}

function notFound(file: string): ServedImage {
  return { status: 404, contentType: 'text/plain; charset=utf-8', body: Buffer.from(`no such image: ${file}\n`) };
}

function jpeg(body: Buffer): ServedImage {
  return { status: 200, contentType: 'image/jpeg', body };
}

function encoded(ext: 'jpg' | 'png', body: Buffer): ServedImage {
  return { status: 200, contentType: ext === 'jpg' ? 'image/jpeg' : 'image/png', body };
}

/** Two colours derived from the name, so different names give visibly different (and deterministic) pictures. */
function coloursFor(name: string): [{ r: number; g: number; b: number }, { r: number; g: number; b: number }] {
  const hash = fnv1a32(name);
  const channel = (shift: number): number => (hash >>> shift) & 0xff;
  return [
    { r: channel(0), g: channel(8), b: channel(16) },
    { r: 255 - channel(0), g: 255 - channel(8), b: 255 - channel(16) },
  ];
}

async function render(name: string, width: number, height: number, ext: 'jpg' | 'png', options: { quality?: number } = {}): Promise<Buffer> {
  const [background, accent] = coloursFor(name);
  // A band across the middle gives the picture some structure (edges for a CNN, not a flat field).
  const bandHeight = Math.max(1, Math.floor(height / 3));
  const band = await sharp({ create: { width, height: bandHeight, channels: 3, background: accent } }).png().toBuffer();
  const image = sharp({ create: { width, height, channels: 3, background } }).composite([
    { input: band, top: Math.floor(height / 3), left: 0 },
  ]);
  return ext === 'jpg' ? image.jpeg({ quality: options.quality ?? 85 }).toBuffer() : image.png().toBuffer();
}

async function renderNoise(width: number, height: number): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: { r: 128, g: 128, b: 128 }, noise: { type: 'gaussian', mean: 128, sigma: 60 } },
  })
    .jpeg({ quality: 100 })
    .toBuffer();
}

/**
 * A 1-bit greyscale PNG of the given size whose pixels are all black. Its compressed data is tiny,
 * its decoded RGBA would be width×height×4 bytes: what a decoder without a pixel limit would allocate.
 */
export function decompressionBombPng(width: number, height: number): Buffer {
  const rowBytes = Math.ceil(width / 8) + 1; // +1 filter byte per row
  const raw = Buffer.alloc(rowBytes * height); // zeros: filter 0, black pixels
  const idat = deflateSync(raw, { level: 9 });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const typeBytes = Buffer.from(type, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([typeBytes, data])), 0);
  return Buffer.concat([length, typeBytes, data, crc]);
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
