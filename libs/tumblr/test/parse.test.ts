import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PostSchema } from '@moodstream/events';
import {
  badPosts,
  buildPost,
  countEnglishWords,
  htmlToText,
  labelFromTags,
  parseTumblrPost,
  pickImageUrl,
  removeEmotionHashtags,
  type ParseContext,
} from '../src/index';

const ctx: ParseContext = {
  foundUnder: 'happy',
  watchedTopics: new Set(['happy', 'sad', 'angry', 'surprised', 'scared', 'disgusted', 'worldcup']),
  source: 'live',
  ingestedAt: 1_700_000_100_000,
  minEnglishWords: 5,
};
const resolveBase = <T>(post: T): T => JSON.parse(JSON.stringify(post).replaceAll('{{base}}', 'http://img.test')) as T;

test('html is reduced to plain text: tags stripped, entities decoded, scripts dropped with their contents', () => {
  const out = htmlToText('<p>Fish &amp; chips &lt;3 &#x1F600; &eacute;t&eacute;</p><script>alert("x")</script><br>next&nbsp;line', 1000);
  assert.equal(out.text, 'Fish & chips <3 😀 été\nnext line');
  assert.equal(out.markupRemoved, true);
  assert.equal(htmlToText('<b>plain</b> <i>bold</i>', 100).markupRemoved, false);
  assert.equal(htmlToText('<img src=x onerror="alert(1)">hi', 100).text, 'hi');
  assert.equal(htmlToText('<img src=x onerror="alert(1)">hi', 100).markupRemoved, true);
  const cut = htmlToText('a'.repeat(50), 10);
  assert.deepEqual([cut.text.length, cut.truncated], [10, true]);
  assert.equal(htmlToText('bad \uFFFD byte', 100).invalidUtf8, true);
  assert.equal(htmlToText('bad \uFFFD byte', 100).text, 'bad byte');
});

test('the self-reported label is the first emotion tag in the user order; its hashtags leave the text', () => {
  assert.equal(labelFromTags(['life', 'Sad', 'happy']), 'sad');
  assert.equal(labelFromTags(['#Happy']), 'happy');
  assert.equal(labelFromTags(['life', 'unhappy']), null);
  assert.equal(removeEmotionHashtags('what a day #happy #sad #sadness #life'), 'what a day #sadness #life');
  assert.equal(removeEmotionHashtags('#Angry at the train'), 'at the train');
});

test('image choice: the smallest size whose short side is ≥ 256 px, else the largest', () => {
  const sizes = [
    { url: 'http://x/1280.jpg', width: 1280, height: 960 },
    { url: 'http://x/400.jpg', width: 400, height: 300 },
    { url: 'http://x/250.jpg', width: 250, height: 188 },
    { url: 'http://x/500.jpg', width: 500, height: 375 },
  ];
  assert.equal(pickImageUrl(sizes), 'http://x/400.jpg');
  assert.equal(pickImageUrl(sizes.filter((s) => s.width <= 250).concat({ url: 'http://x/100.jpg', width: 100, height: 75 })), 'http://x/250.jpg');
  assert.equal(pickImageUrl([{ url: 'javascript:alert(1)', width: 500, height: 500 }]), null);
  assert.equal(pickImageUrl([]), null);
});

test('English words are counted with the shipped vocabulary; contractions count by their stem', () => {
  assert.equal(countEnglishWords("I don't like the rain today"), 6);
  assert.equal(countEnglishWords('qwzx blorp lol ok'), 1);
});

test('legacy photo, legacy text and NPF posts all parse to the same Post shape', () => {
  for (const format of ['legacy-photo', 'legacy-text', 'npf'] as const) {
    const raw = resolveBase(buildPost({ id: 712345678901234567n, timestamp: 1_700_000_000, watched: ['happy', 'worldcup'], format, leadingTags: ['Life'], text: format === 'npf' ? 'Today I feel really good about the weather #happy' : '<p>Today I feel <b>really</b> good about the weather #happy</p>' }));
    const result = parseTumblrPost(raw, ctx);
    assert.ok(result.ok, `${format}: ${JSON.stringify(result)}`);
    const post = result.post;
    assert.equal(post.id, '712345678901234567', 'the string id, not the rounded number');
    assert.equal(post.timestamp, 1_700_000_000_000);
    assert.deepEqual(post.topics, ['happy', 'worldcup']);
    assert.deepEqual(post.tags.slice(0, 3), ['life', 'happy', 'worldcup']);
    assert.equal(post.label, 'happy');
    assert.equal(post.text, 'Today I feel really good about the weather');
    if (format === 'legacy-text') assert.equal(post.imageUrl, null);
    else assert.equal(post.imageUrl, 'http://img.test/images/p01234567_400x300.jpg');
    assert.ok(PostSchema.safeParse(post).success);
  }
});

test('bad posts are skipped or cleaned, each with its reason, and parsing never throws', () => {
  for (const { post, expect } of badPosts('happy', 1_700_000_000)) {
    const raw = JSON.parse(JSON.stringify(resolveBase(post)).replaceAll('\\u0000INVALID-UTF8\\u0000', '\uFFFD')) as unknown;
    const result = parseTumblrPost(raw, ctx);
    if (result.ok) assert.ok((result.cleaned as string[]).includes(expect), `${expect}: cleaned ${result.cleaned.join(',')}`);
    else assert.equal(result.reason, expect);
    if (result.ok) assert.doesNotMatch(result.post.text, /<script|onerror|\uFFFD/);
  }
  for (const junk of [null, 42, 'post', [], { id_string: '1' }, { id: 2 ** 60 }]) {
    const result = parseTumblrPost(junk, ctx);
    assert.equal(result.ok, false);
  }
});

test('the English-word threshold is configurable and 0 disables it', () => {
  const raw = resolveBase(buildPost({ id: 1n, timestamp: 1_700_000_000, watched: ['happy'], format: 'legacy-text', text: '<p>lol ok</p>' }));
  assert.equal(parseTumblrPost(raw, ctx).ok, false);
  assert.equal(parseTumblrPost(raw, { ...ctx, minEnglishWords: 0 }).ok, true);
  assert.equal(parseTumblrPost(raw, { ...ctx, minEnglishWords: 1 }).ok, true);
});
