import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPost, parseTumblrPost, type ParseContext, type RawTumblrPost } from '../src/index';

const ctx: ParseContext = {
  foundUnder: 'happy',
  watchedTopics: new Set(['happy', 'sad']),
  source: 'live',
  ingestedAt: 1_700_000_100_000,
  minEnglishWords: 5,
};
const sizes = [
  { url: 'https://64.media.test/x/s1280x960/a.jpg', width: 1280, height: 960 },
  { url: 'https://64.media.test/x/s400x300/a.jpg', width: 400, height: 300 },
];
const base = (id: number): RawTumblrPost => {
  const post = buildPost({ id: BigInt(id), timestamp: 1_700_000_000, watched: ['happy'], format: 'legacy-text' });
  delete post['body'];
  delete post['title'];
  return post;
};

test('a photo with no caption is kept as an image-only post, not judged for English', () => {
  const raw = { ...base(1), type: 'photo', caption: '', photos: [{ alt_sizes: sizes, original_size: sizes[0] }] };
  const result = parseTumblrPost(raw, ctx);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.post.text, '');
  assert.equal(result.post.imageUrl, 'https://64.media.test/x/s400x300/a.jpg');
});

test('an NPF image block alone, and a caption of only the emotion hashtag, are image-only posts', () => {
  const npf = { ...base(2), type: 'blocks', content: [{ type: 'image', media: sizes }], layout: [], trail: [] };
  const hashtagOnly = { ...base(3), type: 'photo', caption: '<p>#happy</p>', photos: [{ alt_sizes: sizes }] };
  for (const raw of [npf, hashtagOnly]) {
    const result = parseTumblrPost(raw, ctx);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual([result.post.text, result.post.imageUrl, result.post.label], ['', sizes[1]?.url, 'happy']);
  }
});

test('a legacy text body whose picture is an <img> (a post made in the apps) keeps its picture', () => {
  const body =
    '<figure class="tmblr-full" data-orig-width="1280" data-orig-height="960"><img src="https://64.media.test/x/s640x960/a.jpg" ' +
    'data-orig-width="1280" data-orig-height="960" srcset="https://64.media.test/x/s400x300/a.jpg 400w, https://64.media.test/x/s1280x960/a.jpg 1280w"></figure>' +
    '<p>what a wonderful day it was at the beach with friends</p>';
  const result = parseTumblrPost({ ...base(4), type: 'text', body }, ctx);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.post.imageUrl, 'https://64.media.test/x/s400x300/a.jpg');
  assert.equal(result.post.text, 'what a wonderful day it was at the beach with friends');
});

test('words are still judged for English when there is a picture; a post with neither is no-content', () => {
  const shortCaption = { ...base(5), type: 'photo', caption: '<p>lol ok</p>', photos: [{ alt_sizes: sizes }] };
  assert.deepEqual(parseTumblrPost(shortCaption, ctx), { ok: false, reason: 'too-few-english-words', id: '5', detail: '1 known words' });
  const empty = { ...base(6), type: 'text', body: '<p> </p><script>x()</script>' };
  assert.deepEqual(parseTumblrPost(empty, ctx), { ok: false, reason: 'no-content', id: '6' });
  const emptyNoFilter = parseTumblrPost(empty, { ...ctx, minEnglishWords: 0 });
  assert.equal(emptyNoFilter.ok, false, 'even with the filter off, nothing to score is skipped');
});

test('lone surrogates and replacement characters leave the blog name, the tags and the text', () => {
  const raw = { ...base(7), blog_name: 'blog\uD83Dname\uFFFD', tags: ['happy', 'sun\uDE00ny', '\uFFFD'], type: 'text', body: '<p>today I feel really good \uD83D about the weather</p>' };
  const result = parseTumblrPost(raw, ctx);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.post.blog, 'blogname');
  assert.deepEqual(result.post.tags, ['happy', 'sunny']);
  assert.equal(result.post.text, 'today I feel really good about the weather');
  assert.ok(result.cleaned.includes('invalid-utf8') && result.cleaned.includes('tags-dropped'));
});
