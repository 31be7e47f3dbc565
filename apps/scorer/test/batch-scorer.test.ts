import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { systemClock } from '@moodstream/core';
import type { BusRecord } from '@moodstream/bus';
import { ScoredPostSchema, type Post } from '@moodstream/events';
import { emotionScore, preprocessImage } from '@moodstream/model';
import { BatchScorer, type QueuedPost } from '../src/batch-scorer';
import { FeatureCache } from '../src/feature-cache';
import { SafeImageFetcher } from '../src/fetch/safe-image-fetcher';
import type { InferenceEngine, InferenceRequest, InferenceResult } from '../src/inference/inference-engine';

/**
 * A stand-in for the neural network, so this unit test checks the batch plumbing (fetch, cache,
 * decode, degrade-to-text) in milliseconds. The real model runs in the integration test.
 */
class RecordingEngine implements InferenceEngine {
  readonly info = { backend: 'test', modelVersion: 'test-1', backboneId: 'test', inputSize: 16, workers: 0 };
  readonly requests: InferenceRequest[] = [];
  async run(request: InferenceRequest): Promise<InferenceResult> {
    this.requests.push(request);
    const embedded = request.pixels.map((p) => {
      const mean = p.reduce((a, b) => a + b, 0) / p.length / 255;
      return { features: new Float32Array([mean]), explicit: mean };
    });
    const scores = request.items.map((item) =>
      emotionScore(
        {
          probabilities: item.image === null ? [0.5, 0.1, 0.1, 0.1, 0.1, 0.1] : [0.1, 0.5, 0.1, 0.1, 0.1, 0.1],
          modality: item.image === null ? 'text' : 'both',
        },
        this.info.modelVersion,
      ),
    );
    return { scores, embedded, backboneMs: 1, modelMs: 1 };
  }
  async tensorCounts(): Promise<number[]> {
    return [0];
  }
  async close(): Promise<void> {}
}

let server: Server;
let base: string;
const served: string[] = [];

before(async () => {
  const red = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 255, g: 0, b: 0 } } }).jpeg().toBuffer();
  const bomb = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toBuffer();
  server = createServer((req, res) => {
    served.push(req.url ?? '');
    if (req.url === '/red.jpg' || req.url === '/red-copy.jpg') res.end(red);
    else if (req.url === '/bomb.png') res.end(bomb);
    else if (req.url === '/text.jpg') res.end('hello, I am text');
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

function queued(id: string, imageUrl: string | null, text = `post ${id}`): QueuedPost {
  const post: Post = {
    id,
    blog: 'someone',
    url: `https://someone.tumblr.com/post/${id}`,
    timestamp: 1_700_000_000_000,
    topics: ['weather'],
    tags: [],
    text,
    imageUrl,
    noteCount: null,
    source: 'live',
    label: 'happy',
    ingestedAt: 1_700_000_000_500,
  };
  const record: BusRecord<Post> = { topic: 'posts', partition: 0, offset: id, key: id, value: post, timestamp: post.timestamp, headers: {} };
  return { record, receivedAt: systemClock.now() };
}

function scorerWith(engine: RecordingEngine, cache = new FeatureCache(100)) {
  const fetcher = new SafeImageFetcher({ timeoutMs: 2_000, maxBytes: 1_000_000, maxRedirects: 2, allowlist: ['127.0.0.1'] });
  after(() => fetcher.close());
  return new BatchScorer({
    engine,
    fetchImage: (url) => fetcher.fetch(url),
    decodeImage: (bytes, size) => preprocessImage(bytes, size, { limitInputPixels: 1_000_000 }),
    cache,
    clock: systemClock,
    imageConcurrency: 4,
  });
}

test('one valid ScoredPost per post; bad images degrade to text-only with the reason', async () => {
  const engine = new RecordingEngine();
  const batch = [
    queued('1', `${base}/red.jpg`),
    queued('2', null),
    queued('3', `${base}/missing.jpg`),
    queued('4', `${base}/bomb.png`),
    queued('5', `${base}/text.jpg`),
    queued('6', 'http://10.0.0.1/x.jpg'),
  ];
  const { scored, imageErrors, embeddedImages } = await scorerWith(engine).score(batch);
  assert.deepEqual(
    scored.map((s) => s.postId),
    ['1', '2', '3', '4', '5', '6'],
  );
  for (const s of scored) ScoredPostSchema.parse(s);
  const byId = new Map(scored.map((s) => [s.postId, s]));
  assert.equal(byId.get('1')?.modality, 'both');
  assert.equal(byId.get('1')?.imageError, null);
  assert.ok((byId.get('1')?.explicit ?? 0) > 0, 'the image post carries the backbone explicit score');
  assert.equal(byId.get('2')?.modality, 'text');
  assert.equal(byId.get('2')?.imageError, null);
  assert.equal(byId.get('2')?.explicit, null);
  assert.match(byId.get('3')?.imageError ?? '', /^IMAGE_HTTP_STATUS: HTTP 404/);
  assert.match(byId.get('4')?.imageError ?? '', /^IMAGE_DECODE_FAILED/);
  assert.match(byId.get('5')?.imageError ?? '', /^IMAGE_NOT_AN_IMAGE/);
  assert.match(byId.get('6')?.imageError ?? '', /^IMAGE_FORBIDDEN_ADDRESS/);
  for (const id of ['3', '4', '5', '6']) {
    assert.equal(byId.get(id)?.modality, 'text');
    assert.equal(byId.get(id)?.explicit, null);
  }
  assert.deepEqual(imageErrors.sort(), ['IMAGE_DECODE_FAILED', 'IMAGE_FORBIDDEN_ADDRESS', 'IMAGE_HTTP_STATUS', 'IMAGE_NOT_AN_IMAGE']);
  assert.equal(embeddedImages, 1);
  assert.equal(engine.requests.length, 1, 'one forward pass per batch');
  assert.equal(byId.get('1')?.topEmotion, 'sad');
});

test('the cache skips the fetch for a known URL and the backbone for known bytes under a new URL', async () => {
  const engine = new RecordingEngine();
  const cache = new FeatureCache(100);
  const scorer = scorerWith(engine, cache);
  const first = await scorer.score([queued('a', `${base}/red.jpg`), queued('b', `${base}/red.jpg`)]);
  assert.equal(first.embeddedImages, 1, 'two posts, one URL: one backbone pass');
  const fetchesBefore = served.filter((u) => u === '/red.jpg').length;
  const second = await scorer.score([queued('c', `${base}/red.jpg`), queued('d', `${base}/red-copy.jpg`)]);
  assert.equal(served.filter((u) => u === '/red.jpg').length, fetchesBefore, 'a URL hit needs no fetch');
  assert.equal(second.embeddedImages, 0, 'the copy is recognised by its content hash');
  assert.equal(engine.requests[1]?.pixels.length, 0);
  assert.deepEqual(
    second.scored.map((s) => [s.modality, s.explicit === first.scored[0]?.explicit]),
    [
      ['both', true],
      ['both', true],
    ],
  );
  const stats = cache.stats();
  assert.equal(stats.urlHits, 1);
  assert.equal(stats.hashHits, 1);
  assert.equal(stats.misses, 1);
});

test('text is truncated to 2,000 characters and latencies are filled in', async () => {
  const engine = new RecordingEngine();
  const { scored } = await scorerWith(engine).score([queued('long', null, 'x'.repeat(5_000))]);
  const only = ScoredPostSchema.parse(scored[0]);
  assert.equal(only.text.length, 2_000);
  assert.equal(only.modelVersion, 'test-1');
  assert.ok(only.latencies.totalMs !== undefined && only.latencies.totalMs >= (only.latencies.queueMs ?? 0));
  assert.ok(Math.abs(only.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-9);
});

test('a decode starts as soon as its image arrives (while other fetches are still out), once per distinct content', async () => {
  const engine = new RecordingEngine();
  const red = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 255, g: 0, b: 0 } } }).jpeg().toBuffer();
  const blue = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 0, g: 0, b: 255 } } }).jpeg().toBuffer();
  const events: string[] = [];
  let releaseSlow!: () => void;
  // A pipeline that decodes only after every fetch would wait forever: give up after 1 s so it fails, not hangs.
  const slowGate = new Promise<void>((resolve) => {
    releaseSlow = resolve;
    setTimeout(resolve, 1_000).unref();
  });
  const scorer = new BatchScorer({
    engine,
    fetchImage: async (url) => {
      // The slow image is held back until the fast ones were decoded: only an overlapping pipeline gets there.
      if (url.endsWith('/slow')) await slowGate;
      events.push(`fetched ${url.slice(url.lastIndexOf('/') + 1)}`);
      return { bytes: url.endsWith('/slow') ? blue : red, type: 'jpeg' as const, finalUrl: url };
    },
    decodeImage: async (bytes, size) => {
      events.push(`decode ${bytes === blue ? 'blue' : 'red'}`);
      const pixels = await preprocessImage(bytes, size);
      if (bytes !== blue) releaseSlow();
      return pixels;
    },
    cache: new FeatureCache(100),
    clock: systemClock,
    imageConcurrency: 4,
  });
  const { scored, embeddedImages } = await scorer.score([queued('f1', 'https://a.example/fast'), queued('s', 'https://a.example/slow'), queued('f2', 'https://b.example/fast')]);
  assert.equal(embeddedImages, 2, 'red (served by two URLs) and blue, each embedded once');
  assert.deepEqual(events.filter((e) => e.startsWith('decode')).sort(), ['decode blue', 'decode red'], 'the shared content is decoded once');
  assert.ok(events.indexOf('decode red') < events.indexOf('fetched slow'), `decode overlaps the slow fetch: ${events.join(', ')}`);
  assert.deepEqual(
    scored.map((s) => s.modality),
    ['both', 'both', 'both'],
  );
});
