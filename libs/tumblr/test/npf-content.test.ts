import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TumblrClient,
  imageBlock,
  npfPost,
  npfShapes,
  parseTumblrPost,
  startTumblrStandIn,
  textBlock,
  type ParseContext,
  type RawTumblrPost,
} from '../src/index';

const ctx: ParseContext = { foundUnder: 'happy', watchedTopics: new Set(['happy']), source: 'live', ingestedAt: 1_700_000_100_000, minEnglishWords: 0 };
const BASE = 'http://img.test';
const resolve = (post: RawTumblrPost): RawTumblrPost => JSON.parse(JSON.stringify(post).replaceAll('{{base}}', BASE)) as RawTumblrPost;

for (const shape of npfShapes(800_000_000_000_000_001n, 1_700_000_000, 'happy')) {
  test(`NPF ${shape.name}`, () => {
    const result = parseTumblrPost(resolve(shape.post), ctx);
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.post.text, shape.text);
    assert.equal(result.post.imageUrl, shape.image === null ? null : shape.image.replace('{{base}}', BASE));
  });
}

test('a legacy answer without `content` is read from its question and answer fields', () => {
  const post = npfPost({ id: 5n, timestamp: 1_700_000_000, tags: ['happy'], content: [] });
  for (const key of ['content', 'layout', 'trail', 'object_type', 'is_blocks_post_format']) delete post[key];
  const answer = { ...post, type: 'answer', question: 'How was the trip?', answer: '<p>It was <b>wonder</b>ful, thank you</p>' };
  const result = parseTumblrPost(answer, ctx);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.post.text, 'How was the trip?\nIt was wonderful, thank you');
});

test('a legacy link post keeps its preview picture', () => {
  const post = npfPost({ id: 6n, timestamp: 1_700_000_000, tags: ['happy'], content: [] });
  for (const key of ['content', 'layout', 'trail', 'object_type', 'is_blocks_post_format']) delete post[key];
  const link = { ...post, type: 'link', title: 'Choir is back', description: '<p>so good to hear them</p>', link_image: 'https://64.media.test/l.jpg', link_image_dimensions: { width: 600, height: 400 } };
  const result = parseTumblrPost(link, ctx);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.post.imageUrl, 'https://64.media.test/l.jpg');
});

test('an NPF post with two images and a caption, served in both formats by the stand-in, becomes the same Post', async () => {
  const made = npfPost({
    id: 712_000_000_000_000_001n,
    timestamp: 1_700_000_000,
    tags: ['Life', 'happy'],
    content: [imageBlock('twoimg1', { alt_text: 'the lake at dawn' }), imageBlock('twoimg2'), textBlock('Finally home after a long week, the lake was so calm & bright <3 #happy')],
  });
  const standIn = await startTumblrStandIn({ posts: [made] });
  try {
    const npf = await new TumblrClient({ apiKey: 'standin-key', baseUrl: standIn.url }).tagged({ tag: 'happy' });
    const legacy = await new TumblrClient({ apiKey: 'standin-key', baseUrl: standIn.url, npf: false }).tagged({ tag: 'happy' });
    const [npfRaw, legacyRaw] = [npf.posts[0] as RawTumblrPost, legacy.posts[0] as RawTumblrPost];
    assert.equal(npfRaw['type'], 'blocks');
    assert.equal(legacyRaw['type'], 'text', 'served as legacy text with an HTML body');
    assert.match(String(legacyRaw['body']), /<figure[^>]*><img [^>]*srcset=/);
    const a = parseTumblrPost(npfRaw, { ...ctx, minEnglishWords: 5 });
    const b = parseTumblrPost(legacyRaw, { ...ctx, minEnglishWords: 5 });
    assert.ok(a.ok && b.ok, JSON.stringify([a, b]));
    assert.deepEqual(b.post, a.post);
    assert.equal(a.post.text, 'the lake at dawn\nFinally home after a long week, the lake was so calm & bright <3');
    assert.equal(a.post.imageUrl, `${standIn.url}/images/twoimg1_400x300.jpg`, 'the first image, at the smallest size ≥ 256 px');
    assert.equal(a.post.label, 'happy');
  } finally {
    await standIn.close();
  }
});
