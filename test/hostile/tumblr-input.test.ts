/**
 * Hostile input catalogue, Tumblr side (docs/hostile-inputs.md): what a stranger's post or a broken API answer can
 * do to the ingester's parsing. Each test feeds one kind of hostile input and checks the one outcome we promise —
 * a typed error, a counted skip reason (the ingester's `skipped{reason}`), or a repaired post — and that the good
 * posts next to it are untouched. Unit level: the parser and client are pure (the client gets an injected fetch).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseTumblrPost, TumblrClient, TumblrResponseError, type ParseContext, type ParseResult } from '@moodstream/tumblr';
import { cpuMs } from './support/cpu-time';

const NOW = Date.UTC(2026, 10, 30, 12);
const ctx: ParseContext = { foundUnder: 'happy', watchedTopics: new Set(['happy', 'sad']), source: 'live', ingestedAt: NOW, minEnglishWords: 0 };
const WORDS = 'I am so happy today because the weather is lovely and my friends came over';

function npfPost(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id_string: '712345678901234567',
    blog_name: 'someone',
    post_url: 'https://someone.tumblr.com/post/712345678901234567',
    timestamp: Math.floor(NOW / 1000) - 60,
    tags: ['happy'],
    content: [{ type: 'text', text: WORDS }],
    ...overrides,
  };
}

function legacyPhoto(caption: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { content: _content, ...rest } = npfPost();
  return { ...rest, type: 'photo', caption, ...overrides };
}

function kept(result: ParseResult): Extract<ParseResult, { ok: true }> {
  assert.ok(result.ok, `expected the post to be kept, got ${JSON.stringify(result)}`);
  return result;
}

function skipped(result: ParseResult, reason: string): void {
  assert.equal(result.ok, false, 'expected a skip');
  assert.equal((result as { reason: string }).reason, reason);
}

/** Runs `fn` and returns its result and how long it took. */
function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

function clientAnswering(body: Uint8Array | string, status = 200): TumblrClient {
  const fetch: typeof globalThis.fetch = () => Promise.resolve(new Response(body, { status, headers: { 'content-type': 'application/json' } }));
  return new TumblrClient({ apiKey: 'k3y-never-in-messages', baseUrl: 'http://tumblr.invalid', fetch });
}

describe('hostile Tumblr API answers', () => {
  it('truncated JSON is a typed TUMBLR_BAD_RESPONSE (not-json), retried by the walker, never a crash', async () => {
    const full = JSON.stringify({ meta: { status: 200, msg: 'OK' }, response: [npfPost()] });
    for (const cut of [1, 10, full.length - 1]) {
      await assert.rejects(clientAnswering(full.slice(0, cut)).tagged({ tag: 'happy' }), (error: unknown) => {
        assert.ok(error instanceof TumblrResponseError);
        assert.equal(error.kind, 'not-json');
        assert.equal(error.code, 'TUMBLR_BAD_RESPONSE');
        assert.doesNotMatch(error.message, /k3y/);
        return true;
      });
    }
  });

  it('malformed envelopes (wrong types where the envelope is) are a typed bad-envelope', async () => {
    for (const body of ['[]', '"posts"', '{"meta":{"status":200}}', '{"meta":{"status":200},"response":{"posts":[]}}', 'null']) {
      await assert.rejects(clientAnswering(body).tagged({ tag: 'happy' }), (error: unknown) => {
        assert.ok(error instanceof TumblrResponseError, body);
        assert.ok(error.kind === 'bad-envelope' || error.kind === 'not-json', `${body}: ${error.kind}`);
        return true;
      });
    }
  });

  it('invalid UTF-8 bytes inside a post become nothing; the post is kept and counted as repaired', async () => {
    const json = JSON.stringify({ meta: { status: 200 }, response: [npfPost({ content: [{ type: 'text', text: `${WORDS} XX` }] })] });
    const bytes = Buffer.from(json, 'utf8');
    const at = bytes.indexOf('XX');
    bytes[at] = 0xff; // never valid in UTF-8
    bytes[at + 1] = 0xc3; // a lead byte without its continuation
    const page = await clientAnswering(bytes).tagged({ tag: 'happy' });
    const result = kept(parseTumblrPost(page.posts[0], ctx));
    assert.ok(result.cleaned.includes('invalid-utf8'));
    assert.equal(result.post.text, WORDS);
    assert.doesNotMatch(result.post.text, /\uFFFD/);
  });
});

describe('hostile posts', () => {
  it('one broken post in a page costs only itself: every other post parses the same as alone', () => {
    const good = [npfPost({ id_string: '1' }), npfPost({ id_string: '2' })];
    const page: unknown[] = [good[0], null, 42, 'post', [], { id_string: '3' }, npfPost({ id_string: '4', timestamp: 'yesterday' }), good[1]];
    const results = page.map((raw) => parseTumblrPost(raw, ctx));
    assert.deepEqual(results.filter((r) => r.ok).map((r) => (r as { post: { id: string } }).post.id), ['1', '2']);
    assert.deepEqual(results.filter((r) => !r.ok).map((r) => (r as { reason: string }).reason), ['not-an-object', 'not-an-object', 'not-an-object', 'not-an-object', 'missing-blog', 'bad-timestamp']);
  });

  it('wrong types in every field give a named skip reason or are ignored, never an exception', () => {
    skipped(parseTumblrPost(npfPost({ id_string: { $gt: '' }, id: [1] }), ctx), 'missing-id');
    skipped(parseTumblrPost(npfPost({ blog_name: 12, blog: 'x' }), ctx), 'missing-blog');
    skipped(parseTumblrPost(npfPost({ post_url: ['https://a.b/'] }), ctx), 'bad-url');
    skipped(parseTumblrPost(npfPost({ timestamp: '1700000000' }), ctx), 'bad-timestamp');
    skipped(parseTumblrPost(npfPost({ timestamp: 1.5 }), ctx), 'bad-timestamp');
    skipped(parseTumblrPost(npfPost({ tags: 'happy' }), ctx), 'bad-tags');
    skipped(parseTumblrPost(npfPost({ content: { type: 'text', text: WORDS } }), ctx), 'no-content');
    // Wrong-typed blocks, tags and counts are ignored one by one; what is well-formed still counts.
    const result = kept(
      parseTumblrPost(
        npfPost({
          tags: ['happy', 7, null, { tag: 'x' }],
          note_count: '99',
          content: [{ type: 'text', text: 42 }, { type: 'image', media: 'x' }, null, 'text', { type: 'text', text: WORDS }],
          layout: 'rows',
        }),
        ctx,
      ),
    );
    assert.equal(result.post.text, WORDS);
    assert.deepEqual(result.post.tags, ['happy']);
    assert.equal(result.post.noteCount, null);
    assert.ok(result.cleaned.includes('tags-dropped'));
  });

  it('missing fields: each required one has its own skip reason', () => {
    const without = (field: string): Record<string, unknown> => {
      const post = npfPost();
      delete post[field];
      return post;
    };
    skipped(parseTumblrPost(without('id_string'), ctx), 'missing-id');
    skipped(parseTumblrPost(without('blog_name'), ctx), 'missing-blog');
    skipped(parseTumblrPost(without('post_url'), ctx), 'bad-url');
    skipped(parseTumblrPost(without('timestamp'), ctx), 'bad-timestamp');
    skipped(parseTumblrPost(without('content'), ctx), 'no-content');
    // Tags are optional: a post without them is still one found under the watched tag.
    assert.deepEqual(kept(parseTumblrPost(without('tags'), ctx)).post.topics, ['happy']);
  });

  it('a 10 MB caption (HTML and NPF text) is cut to 20,000 characters in bounded time and counted as truncated', () => {
    const tenMb = `<p>${'happy words and more words '.repeat(10 * 1024 * 1024 / 27)}</p>`;
    const legacy = timed(() => parseTumblrPost(legacyPhoto(tenMb), ctx));
    const npf = timed(() => parseTumblrPost(npfPost({ content: [{ type: 'text', text: tenMb }] }), ctx));
    for (const { value, ms } of [legacy, npf]) {
      const result = kept(value);
      assert.ok(result.post.text.length <= 20_000);
      assert.ok(result.cleaned.includes('text-truncated'));
      assert.ok(ms < 1_000, `took ${ms.toFixed(0)} ms`);
    }
    // Many 1 MB blocks add up to the same cap rather than 10 MB of joined text.
    const blocks = Array.from({ length: 10 }, () => ({ type: 'text', text: 'sad '.repeat(262_144) }));
    const many = timed(() => parseTumblrPost(npfPost({ content: blocks }), ctx));
    assert.ok(kept(many.value).post.text.length <= 20_000);
    assert.ok(many.ms < 1_000, `took ${many.ms.toFixed(0)} ms`);
  });

  it('lone surrogates (valid JSON escapes, not text) and control characters are removed and counted', () => {
    const raw = JSON.parse(`{"text": "${WORDS} \\ud83d end\\u0000\\u0007"}`) as { text: string };
    const result = kept(parseTumblrPost(npfPost({ content: [{ type: 'text', text: raw.text }], tags: ['happy', 'x\ud800y'] }), ctx));
    assert.equal(result.post.text, `${WORDS} end`);
    assert.ok(result.cleaned.includes('invalid-utf8'));
    assert.deepEqual(result.post.tags, ['happy', 'xy']);
  });

  it('RTL and zero-width text is kept as the author wrote it, and a zero-width tag never passes for a watched topic', () => {
    const rtl = 'أنا سعيد جدا اليوم \u202Eevil\u202C שלום';
    const zeroWidth = `happy\u200B\u200C\u200D\uFEFF day`;
    const result = kept(parseTumblrPost(npfPost({ content: [{ type: 'text', text: `${rtl}\n${zeroWidth}` }], tags: ['hap\u200Bpy', 'sad\u200D'] }), ctx));
    assert.equal(result.post.text, `${rtl}\n${zeroWidth}`);
    // 'hap\u200Bpy' is not 'happy': the post is in the topic it was found under, not smuggled into another one.
    assert.deepEqual(result.post.topics, ['happy']);
    assert.deepEqual(result.post.tags, ['hap\u200Bpy', 'sad\u200D']);
  });

  it('emoji-only posts: dropped by the English filter with a counted reason, never split mid-character when cut', () => {
    const emoji = '😊🎉❤️👨‍👩‍👧‍👦'.repeat(8);
    skipped(parseTumblrPost(npfPost({ content: [{ type: 'text', text: emoji }] }), { ...ctx, minEnglishWords: 5 }), 'too-few-english-words');
    const kept1 = kept(parseTumblrPost(npfPost({ content: [{ type: 'text', text: emoji }] }), ctx));
    assert.equal(kept1.post.text, emoji);
    // Cut at an odd length: the last character must not be half a surrogate pair.
    const cut = kept(parseTumblrPost(npfPost({ content: [{ type: 'text', text: '😊'.repeat(100) }] }), { ...ctx, maxTextLength: 51 }));
    assert.equal(cut.post.text, '😊'.repeat(25));
  });

  it('<script>, onerror= and javascript: in an HTML caption: the code is dropped, the words kept, the repair counted', () => {
    const caption = `<p>${WORDS}</p><script>alert('caption')</script><img src=x onerror="alert('img')"><a href="javascript:alert('link')">click</a><svg onload=alert(1)><text>svg</text></svg>`;
    const result = kept(parseTumblrPost(legacyPhoto(caption), ctx));
    assert.doesNotMatch(result.post.text, /alert|svg/);
    assert.match(result.post.text, /click/);
    assert.ok(result.cleaned.includes('markup-removed'));
  });

  it('markup in NPF text and in tags stays literal text (the dashboard renders it as text: test/e2e/hostile.e2e.test.ts)', () => {
    const markup = '<script>alert(1)</script> <img src=x onerror=alert(2)> javascript:alert(3)';
    const result = kept(parseTumblrPost(npfPost({ content: [{ type: 'text', text: `${WORDS} ${markup}` }], tags: ['happy', '<b onmouseover=alert(4)>hi</b>'] }), ctx));
    assert.ok(result.post.text.endsWith(markup));
    assert.deepEqual(result.post.tags, ['happy', '<b onmouseover=alert(4)>hi</b>']);
  });

  it('a javascript: or data: image URL is never picked as the post image', () => {
    const media = (url: string) => [{ url, width: 1280, height: 960 }];
    for (const url of ['javascript:alert(1)//x.jpg', 'data:image/png;base64,AAAA', 'file:///etc/passwd', 'gopher://127.0.0.1:6379/_FLUSHALL']) {
      const result = kept(parseTumblrPost(npfPost({ content: [{ type: 'image', media: media(url) }, { type: 'text', text: WORDS }] }), ctx));
      assert.equal(result.post.imageUrl, null, url);
    }
  });

  it('timestamps at 0, negative, fractional or absurd are skipped as bad-timestamp', () => {
    for (const timestamp of [0, -1, 1e300, Number.NaN, null]) skipped(parseTumblrPost(npfPost({ timestamp }), ctx), 'bad-timestamp');
  });

  it('a timestamp in the future (beyond clock skew) is skipped as bad-timestamp: it would drag the watermark ahead and make every real post late', () => {
    const hour = 3600;
    const nowSeconds = Math.floor(NOW / 1000);
    skipped(parseTumblrPost(npfPost({ timestamp: nowSeconds + 30 * 24 * hour }), ctx), 'bad-timestamp');
    skipped(parseTumblrPost(npfPost({ timestamp: 32_503_679_999 }), ctx), 'bad-timestamp');
    // A few minutes of skew between Tumblr's clock and ours is normal and kept.
    assert.equal(kept(parseTumblrPost(npfPost({ timestamp: nowSeconds + 300 }), ctx)).post.timestamp, (nowSeconds + 300) * 1000);
  });

  it('a numeric id beyond 2^53 is never rounded into another post id', () => {
    skipped(parseTumblrPost(npfPost({ id_string: undefined, id: 2 ** 60 }), ctx), 'missing-id');
    assert.equal(kept(parseTumblrPost(npfPost({ id_string: '712345678901234567', id: 712345678901234560 }), ctx)).post.id, '712345678901234567');
  });

  it('prototype keys ("__proto__", type "constructor") neither crash nor pollute', () => {
    const raw = JSON.parse(`{"__proto__": {"polluted": true}, "id_string": "9", "blog_name": "b", "post_url": "https://b.tumblr.com/9", "timestamp": ${Math.floor(NOW / 1000)}, "type": "constructor", "caption": "x"}`) as unknown;
    skipped(parseTumblrPost(raw, ctx), 'no-content');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('a layout naming one block 300,000 times is read in bounded time (it used to overflow the stack)', () => {
    const blocks = new Array<number>(300_000).fill(0);
    const { value, ms } = timed(() => parseTumblrPost(npfPost({ layout: [{ type: 'ask', blocks }, { type: 'rows', display: [{ blocks }] }] }), ctx));
    assert.equal(kept(value).post.text, WORDS);
    assert.ok(ms < 500, `took ${ms.toFixed(0)} ms`);
  });

  it('100,000 tags, 50,000 blocks and a 300,000-entry layout: capped, counted, under 100 ms of CPU (it took 132 ms: found by fuzz-tumblr)', () => {
    const tags = Array.from({ length: 100_000 }, (_, i) => `tag${i}`);
    const content = Array.from({ length: 50_000 }, () => ({ type: 'text', text: 'happy' }));
    const layout = [{ type: 'ask', blocks: new Array<number>(300_000).fill(0) }];
    const { value, ms } = cpuMs(() => parseTumblrPost(npfPost({ tags, content, layout }), ctx));
    const result = kept(value);
    assert.equal(result.post.tags.length, 256);
    assert.ok(result.cleaned.includes('tags-dropped'));
    assert.ok(result.post.text.length <= 20_000);
    assert.ok(ms < 100, `took ${ms.toFixed(0)} ms of CPU`);
  });
});
