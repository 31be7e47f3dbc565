import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { SafeImageFetcher, type ImageFetchLimits } from '../src/fetch/safe-image-fetcher';

let server: Server;
let base: string;
let port: number;
let png: Buffer;
const requests: { path: string; host: string | undefined }[] = [];
/** Paths the fixture server answers with a redirect: status and Location. */
const REDIRECTS: Record<string, [number, string]> = {
  '/to-private': [302, 'http://10.0.0.1/x.jpg'],
  '/to-ok': [301, '/ok.png'],
  '/loop': [302, '/loop'],
};

before(async () => {
  png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 10, b: 10 } } })
    .png()
    .toBuffer();
  server = createServer((req, res) => {
    requests.push({ path: req.url ?? '', host: req.headers.host });
    const redirect = REDIRECTS[req.url ?? ''];
    if (redirect !== undefined) {
      res.writeHead(redirect[0], { location: redirect[1] });
      res.end();
      return;
    }
    switch (req.url) {
      case '/ok.png':
        // A lying header: the bytes decide.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(png);
        return;
      case '/page.jpg':
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.end('<html><body>not an image at all</body></html>');
        return;
      case '/endless.png': {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.write(png.subarray(0, 16));
        const chunk = Buffer.alloc(64 * 1024, 7);
        const timer = setInterval(() => res.write(chunk), 1);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/declares-huge.png':
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(50 * 1024 * 1024) });
        res.write(png.subarray(0, 16));
        return;
      case '/silent':
        return; // never answers
      default:
        res.writeHead(404);
        res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

const limits: ImageFetchLimits = { timeoutMs: 2_000, maxBytes: 1024 * 1024, maxRedirects: 3, allowlist: ['127.0.0.1'] };

function fetcherWithLog(overrides: Partial<ImageFetchLimits> = {}, resolve?: (host: string) => Promise<{ address: string; family: 4 | 6 }[]>) {
  const connects: string[] = [];
  const fetcher = new SafeImageFetcher(
    { ...limits, ...overrides },
    { onConnect: ({ address, port: p }) => connects.push(`${address}:${p}`), ...(resolve ? { resolve } : {}) },
  );
  after(() => fetcher.close());
  return { fetcher, connects };
}

test('fetches an image, trusting its bytes rather than its content-type', async () => {
  const { fetcher } = fetcherWithLog();
  const image = await fetcher.fetch(`${base}/ok.png`);
  assert.equal(image.type, 'png');
  assert.deepEqual(image.bytes, png);
});

test('refuses a private address before any connection is made', async () => {
  const { fetcher, connects } = fetcherWithLog();
  await assert.rejects(fetcher.fetch('http://10.0.0.1/x.jpg'), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
  await assert.rejects(fetcher.fetch('http://[fd00::1]/x.jpg'), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
  await assert.rejects(fetcher.fetch('http://169.254.169.254/latest/meta-data'), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
  assert.deepEqual(connects, []);
});

test('loopback is refused unless allowlisted, and the server never hears of it', async () => {
  const { fetcher, connects } = fetcherWithLog({ allowlist: [] });
  const before = requests.length;
  await assert.rejects(fetcher.fetch(`${base}/ok.png`), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
  await assert.rejects(fetcher.fetch(`http://localhost:${port}/ok.png`), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
  assert.equal(requests.length, before);
  assert.deepEqual(connects, []);
});

test('a redirect hop is checked again: a redirect to a private address is refused', async () => {
  const { fetcher, connects } = fetcherWithLog();
  await assert.rejects(fetcher.fetch(`${base}/to-private`), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
  assert.deepEqual(connects, [`127.0.0.1:${port}`], 'only the first, allowed hop was connected');
  const ok = await fetcher.fetch(`${base}/to-ok`);
  assert.equal(ok.finalUrl, `${base}/ok.png`);
});

test('redirects are capped', async () => {
  const { fetcher, connects } = fetcherWithLog({ maxRedirects: 2 });
  await assert.rejects(fetcher.fetch(`${base}/loop`), { code: 'IMAGE_TOO_MANY_REDIRECTS' });
  assert.equal(connects.length, 3);
});

test('the byte cap holds whether or not the size is declared', async () => {
  const { fetcher } = fetcherWithLog();
  await assert.rejects(fetcher.fetch(`${base}/endless.png`), { code: 'IMAGE_TOO_LARGE' });
  await assert.rejects(fetcher.fetch(`${base}/declares-huge.png`), { code: 'IMAGE_TOO_LARGE' });
});

test('content that is not an image is refused whatever its header says', async () => {
  const { fetcher } = fetcherWithLog();
  await assert.rejects(fetcher.fetch(`${base}/page.jpg`), { code: 'IMAGE_NOT_AN_IMAGE' });
});

test('HTTP errors, silence and bad schemes fail with their own codes', async () => {
  const { fetcher } = fetcherWithLog({ timeoutMs: 300 });
  await assert.rejects(fetcher.fetch(`${base}/missing.jpg`), { code: 'IMAGE_HTTP_STATUS', message: 'HTTP 404' });
  await assert.rejects(fetcher.fetch(`${base}/silent`), { code: 'IMAGE_TIMEOUT' });
  await assert.rejects(fetcher.fetch('ftp://example.com/x.jpg'), { code: 'IMAGE_BAD_URL' });
  await assert.rejects(fetcher.fetch('file:///etc/passwd'), { code: 'IMAGE_BAD_URL' });
});

test('connects to the address that was checked, not to a second DNS answer', async () => {
  let lookups = 0;
  // A name only this resolver knows: if Node resolved it again itself, the connection would fail.
  const { fetcher, connects } = fetcherWithLog({}, async (host) => {
    lookups++;
    assert.equal(host, 'images.moodstream.test');
    return [{ address: '127.0.0.1', family: 4 }];
  });
  const image = await fetcher.fetch(`http://images.moodstream.test:${port}/ok.png`);
  assert.equal(image.type, 'png');
  assert.equal(lookups, 1);
  assert.deepEqual(connects, [`127.0.0.1:${port}`]);
  assert.equal(requests.at(-1)?.host, `images.moodstream.test:${port}`);
});

test('a name with any forbidden answer is refused', async () => {
  const { fetcher, connects } = fetcherWithLog({}, async () => [
    { address: '127.0.0.1', family: 4 },
    { address: '10.0.0.1', family: 4 },
  ]);
  await assert.rejects(fetcher.fetch(`http://mixed.moodstream.test:${port}/ok.png`), { code: 'IMAGE_FORBIDDEN_ADDRESS' });
  assert.deepEqual(connects, []);
});
