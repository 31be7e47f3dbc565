/**
 * Hostile input catalogue, image side (docs/hostile-inputs.md): a post's image URL is written by a stranger, so the
 * scorer's fetcher must never be steered at our own network, and what it downloads must not be able to exhaust
 * memory or the decoder. Each refusal is a typed IMAGE_* error; the scorer then scores the post on its text with
 * that reason in `imageError` and counts it in moodstream_scorer_image_errors_total{code}
 * (apps/scorer/test/batch-scorer.test.ts checks that plumbing). A fixture server on loopback plays the hosts.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createDeflate } from 'node:zlib';
import sharp from 'sharp';
import { preprocessImage } from '@moodstream/model';
import { SafeImageFetcher, type ImageFetchLimits, type ResolvedAddress } from '../../apps/scorer/src/fetch/safe-image-fetcher';

let server: Server;
let port: number;
let base: string;
let jpeg: Buffer;
const hits: string[] = [];
const sent = new Map<string, number>();

/** Paths answered with a redirect to a forbidden place. */
const REDIRECTS: Record<string, string> = {
  '/to-loopback': 'http://127.0.0.1:1/x.jpg',
  '/to-metadata': 'http://169.254.169.254/latest/meta-data/',
  '/to-private': 'http://10.1.2.3/x.jpg',
  '/to-file': 'file:///etc/passwd',
  '/to-gopher': 'gopher://127.0.0.1:6379/_FLUSHALL',
  '/to-mapped': 'http://[::ffff:127.0.0.1]/x.jpg',
};

const SVG = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><image href="http://169.254.169.254/x"/></svg>';

before(async () => {
  jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 30, g: 120, b: 200 } } }).jpeg().toBuffer();
  server = createServer((req, res) => {
    const path = req.url ?? '';
    hits.push(path);
    const redirect = REDIRECTS[path];
    if (redirect !== undefined) {
      res.writeHead(302, { location: redirect });
      res.end();
      return;
    }
    if (path === '/ok.jpg') {
      res.end(jpeg);
    } else if (path === '/fifty-mb.jpg') {
      // 50 MB with no Content-Length: only the streaming cap can stop it.
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      let left = 50 * 1024 * 1024;
      const chunk = Buffer.alloc(256 * 1024, 0x11);
      chunk.set(jpeg.subarray(0, 3));
      const pump = (): void => {
        while (left > 0) {
          left -= chunk.length;
          sent.set(path, (sent.get(path) ?? 0) + chunk.length);
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      res.on('close', () => (left = 0));
      pump();
    } else if (path === '/image.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      res.end(SVG);
    } else if (path === '/drip.jpg') {
      // Slowloris: a byte every 100 ms, forever.
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      res.write(jpeg.subarray(0, 12));
      const timer = setInterval(() => res.write(Buffer.from([0])), 100);
      res.on('close', () => clearInterval(timer));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, FIXTURE_ADDRESS, resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://${FIXTURE_ADDRESS}:${port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

/**
 * The fixture plays a public host from 127.0.0.2, the only allowlisted address, so a redirect to 127.0.0.1 is
 * judged as the loopback address it is.
 */
const FIXTURE_ADDRESS = '127.0.0.2';
const LIMITS: ImageFetchLimits = { timeoutMs: 2_000, maxBytes: 5 * 1024 * 1024, maxRedirects: 3, allowlist: [`${FIXTURE_ADDRESS}/32`] };

function fetcher(overrides: Partial<ImageFetchLimits> = {}, resolve?: (host: string) => Promise<ResolvedAddress[]>) {
  const connects: string[] = [];
  const instance = new SafeImageFetcher({ ...LIMITS, ...overrides }, { onConnect: ({ address }) => connects.push(address), ...(resolve === undefined ? {} : { resolve }) });
  after(() => instance.close());
  return { instance, connects };
}

describe('image URLs aimed at our own network', () => {
  it('127.0.0.1, localhost and loopback spellings (decimal, hex, IPv6, IPv4-mapped) are refused before any connection', async () => {
    const { instance, connects } = fetcher({ allowlist: [] });
    const before = hits.length;
    for (const url of [`${base}/ok.jpg`, `http://127.0.0.1:${port}/ok.jpg`, 'http://127.1/x.jpg', 'http://2130706433/x.jpg', 'http://0x7f000001/x.jpg', 'http://[::1]/x.jpg', 'http://[::ffff:127.0.0.1]/x.jpg', 'http://0.0.0.0/x.jpg']) {
      await assert.rejects(instance.fetch(url), { code: 'IMAGE_FORBIDDEN_ADDRESS' }, url);
    }
    await assert.rejects(instance.fetch(`http://localhost:${port}/ok.jpg`), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
    assert.deepEqual(connects, []);
    assert.equal(hits.length, before, 'the loopback server never heard of it');
  });

  it('169.254.169.254 (cloud metadata) and 10.x are refused before any connection', async () => {
    const { instance, connects } = fetcher();
    for (const url of ['http://169.254.169.254/latest/meta-data/iam/', 'http://10.0.0.1/x.jpg', 'http://10.255.255.255:8080/x.jpg', 'http://[fe80::1]/x.jpg', 'http://[fd00::1]/x.jpg']) {
      await assert.rejects(instance.fetch(url), { code: 'IMAGE_FORBIDDEN_ADDRESS' }, url);
    }
    assert.deepEqual(connects, []);
  });

  it('file://, gopher://, data:, ftp:// and URLs with credentials are refused as IMAGE_BAD_URL', async () => {
    const { instance, connects } = fetcher();
    for (const url of ['file:///etc/passwd', 'gopher://127.0.0.1:6379/_FLUSHALL', 'data:image/png;base64,iVBORw0KGgo=', 'ftp://example.com/x.jpg', 'http://user:pw@example.com/x.jpg', 'not a url']) {
      await assert.rejects(instance.fetch(url), { code: 'IMAGE_BAD_URL' }, url);
    }
    assert.deepEqual(connects, []);
  });

  it('a redirect to any of them is checked again and refused; only the first, allowed hop was connected', async () => {
    const expected: Record<string, string> = {
      '/to-loopback': 'IMAGE_FORBIDDEN_ADDRESS',
      '/to-metadata': 'IMAGE_FORBIDDEN_ADDRESS',
      '/to-private': 'IMAGE_FORBIDDEN_ADDRESS',
      '/to-file': 'IMAGE_BAD_URL',
      '/to-gopher': 'IMAGE_BAD_URL',
      '/to-mapped': 'IMAGE_FORBIDDEN_ADDRESS',
    };
    for (const [path, code] of Object.entries(expected)) {
      const { instance, connects } = fetcher();
      await assert.rejects(instance.fetch(`${base}${path}`), { code }, path);
      assert.deepEqual(connects, [FIXTURE_ADDRESS], `${path}: only the fixture was connected`);
    }
  });

  it('a name with one public and one private answer is refused whole', async () => {
    const { instance, connects } = fetcher({}, () =>
      Promise.resolve([
        { address: '93.184.216.34', family: 4 },
        { address: '10.0.0.5', family: 4 },
      ]),
    );
    await assert.rejects(instance.fetch('http://mixed.test/x.jpg'), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
    assert.deepEqual(connects, []);
  });

  it('DNS rebinding: the name is resolved once per hop and the socket goes to the checked address, whatever DNS says next', async () => {
    // First answer: the fixture (allowlisted). Every later answer: a forbidden address. A connect that asked DNS again
    // would land on 10.0.0.1 (refused, unreachable) — or, for this .test name, fail to resolve at all.
    let lookups = 0;
    const { instance, connects } = fetcher({}, () => {
      lookups += 1;
      return Promise.resolve([{ address: lookups === 1 ? FIXTURE_ADDRESS : '10.0.0.1', family: 4 }]);
    });
    const image = await instance.fetch(`http://rebind.test:${port}/ok.jpg`);
    assert.equal(image.type, 'jpeg');
    assert.equal(lookups, 1);
    assert.deepEqual(connects, [FIXTURE_ADDRESS]);
    // The second fetch resolves again and is refused: the rebound answer is checked, not trusted.
    await assert.rejects(instance.fetch(`http://rebind.test:${port}/ok.jpg`), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
    assert.equal(lookups, 2);
    assert.deepEqual(connects, [FIXTURE_ADDRESS]);
  });
});

describe('hostile image bytes', () => {
  it('a 50 MB image with no Content-Length is cut at the byte cap while streaming', async () => {
    const { instance } = fetcher();
    const rssBefore = process.memoryUsage().rss;
    await assert.rejects(instance.fetch(`${base}/fifty-mb.jpg`), { code: 'IMAGE_TOO_LARGE' });
    const served = sent.get('/fifty-mb.jpg') ?? 0;
    assert.ok(served < 20 * 1024 * 1024, `the server got to send ${served} bytes before the connection was dropped`);
    assert.ok(process.memoryUsage().rss - rssBefore < 40 * 1024 * 1024, 'did not buffer the whole body');
  });

  it('an SVG (with script and an external href) is not an image we decode: IMAGE_NOT_AN_IMAGE whatever its Content-Type', async () => {
    const { instance } = fetcher();
    await assert.rejects(instance.fetch(`${base}/image.svg`), { code: 'IMAGE_NOT_AN_IMAGE' });
  });

  it('a slow drip of bytes ends at the deadline (IMAGE_TIMEOUT), not when the sender stops', async () => {
    const { instance } = fetcher({ timeoutMs: 400 });
    const start = performance.now();
    await assert.rejects(instance.fetch(`${base}/drip.jpg`), { code: 'IMAGE_TIMEOUT' });
    assert.ok(performance.now() - start < 1_500);
  });

  it('a decompression bomb (a 130 KB PNG of 7,000 × 6,000 px: 126 MB of pixels) is refused before decoding', async () => {
    const bomb = await pngBomb(7_000, 6_000);
    assert.ok(bomb.length < 1024 * 1024, `bomb is ${bomb.length} bytes`);
    const rssBefore = process.memoryUsage().rss;
    const start = performance.now();
    await assert.rejects(preprocessImage(bomb, 224, { limitInputPixels: 40_000_000 }), { code: 'IMAGE_DECODE_FAILED' });
    assert.ok(performance.now() - start < 2_000);
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * 1024 * 1024, 'the pixels were never allocated');
  });

  it('a truncated JPEG is refused as IMAGE_DECODE_FAILED rather than scored as half an image', async () => {
    const big = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
    for (const keep of [0.5, 0.9]) {
      await assert.rejects(preprocessImage(big.subarray(0, Math.floor(big.length * keep)), 224), { code: 'IMAGE_DECODE_FAILED' }, `kept ${keep}`);
    }
    // A JPEG header followed by HTML (a polyglot) passes the sniff but not the decoder.
    await assert.rejects(preprocessImage(Buffer.concat([jpeg.subarray(0, 3), Buffer.from('<html><script>alert(1)</script>')]), 224), { code: 'IMAGE_DECODE_FAILED' });
    // The whole image still decodes.
    assert.equal((await preprocessImage(big, 224)).length, 224 * 224 * 3);
  });
});

/** A valid PNG of `width` × `height` black RGB pixels: its zlib stream of zeros compresses about 1000:1. */
async function pngBomb(width: number, height: number): Promise<Buffer> {
  const row = Buffer.alloc(1 + width * 3);
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => parts.push(chunk));
  const done = new Promise<void>((resolve) => deflate.on('end', resolve));
  for (let y = 0; y < height; y++) {
    if (!deflate.write(row)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter, no interlace
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.concat(parts)), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
