/**
 * Property-based fuzzing (fast-check) of the parsers that read what Tumblr and its users send: a post's JSON (legacy
 * and NPF content), and post HTML to text. For every generated input: no exception, an answer of the promised shape,
 * and no more than FUZZ_INPUT_LIMIT_MS (100 ms) of CPU for that one input — including large generated inputs (deep
 * nesting, long attribute runs, many entities). Budget and replay: test/hostile/support/fuzz.ts (FUZZ_RUNS, FUZZ_SEED).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PostSchema } from '@moodstream/events';
import { htmlContent, parseTumblrPost, plainToText, type ParseContext } from '@moodstream/tumblr';
import { fuzzParams, withinLimit } from './support/fuzz';

const NOW = Date.UTC(2026, 10, 30, 12);
const ctx: ParseContext = { foundUnder: 'happy', watchedTopics: new Set(['happy', 'sad']), source: 'live', ingestedAt: NOW, minEnglishWords: 3 };
const SKIP_REASONS = new Set(['not-an-object', 'missing-id', 'missing-blog', 'bad-url', 'bad-timestamp', 'bad-tags', 'no-content', 'too-few-english-words', 'invalid-post']);

/** Words, markup fragments, entities and awkward characters: the alphabet hostile HTML is made of. */
const htmlPiece = fc.oneof(
  fc.constantFrom('<b>', '</b>', '<p>', '</p>', '<br/>', '<script>', '</script>', '<style>', '<svg>', '</svg>', '<!--', '-->', '<![CDATA[', ']]>', '<a href="javascript:alert(1)">', '</a>', '<img src=x onerror=alert(1)>', '<img srcset="https://a.b/1.jpg 640w, https://a.b/2.jpg 1280w" data-orig-width="1280" data-orig-height="960" alt="a cat">', '<', '>', '"', "'", '=', '&', '&amp;', '&lt;', '&#x1F600;', '&#0;', '&#xD800;', '&#99999999;', '&nbsp;', '&notanentity;', '\u0000', '\uD800', '\uFFFD', '\u202E', '\u200B', '😀', '\n', '\t', ' '),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('happy', 'sad', 'the', 'day', 'friends', 'lovely'),
);
const hostileHtml = fc.array(htmlPiece, { maxLength: 200 }).map((parts) => parts.join(''));

/**
 * Large inputs built from one hostile pattern repeated: the shapes that make naive parsers quadratic or recursive.
 * Generated as a recipe (pattern, count, tail) and built inside the property, so a failure prints the recipe, not
 * megabytes; and not shrunk (endOnFailure): shrinking a 100 KB input costs minutes.
 */
const largeRecipe = fc.record({
  unit: fc.constantFrom('<b>', '<div><span>', '<a ', 'x=1 ', '&amp;', '&#x1F600;', '<!--', '<script>', '</p>', '<img alt="', '"', '<', '&', '<![CDATA[', ' \n\t'),
  count: fc.integer({ min: 10_000, max: 120_000 }),
  tail: fc.string({ maxLength: 20 }),
});
const build = (recipe: { unit: string; count: number; tail: string }): string => recipe.unit.repeat(recipe.count) + recipe.tail;
const LARGE = { endOnFailure: true } as const;

const str = fc.oneof(fc.string(), fc.constantFrom('', ' ', 'happy', '#Happy', 'https://x.tumblr.com/post/1', '<script>', '12345678901234567890'));
const block = fc.oneof(
  fc.record({ type: fc.constantFrom('text', 'image', 'link', 'audio', 'video', 'poll', 'constructor', '__proto__'), text: fc.oneof(hostileHtml, fc.anything()) }, { requiredKeys: [] }),
  fc.record(
    {
      type: fc.constant('image'),
      media: fc.array(fc.record({ url: fc.oneof(str, fc.webUrl()), width: fc.oneof(fc.integer(), fc.double(), fc.anything()), height: fc.oneof(fc.integer(), fc.double()) }, { requiredKeys: [] }), { maxLength: 5 }),
      alt_text: str,
      caption: str,
    },
    { requiredKeys: [] },
  ),
  fc.anything(),
);
const layout = fc.array(
  fc.oneof(
    fc.record({ type: fc.constantFrom('ask', 'rows'), blocks: fc.array(fc.oneof(fc.integer({ min: -2, max: 12 }), fc.anything()), { maxLength: 20 }), display: fc.array(fc.record({ blocks: fc.array(fc.integer({ min: -1, max: 12 })) }), { maxLength: 5 }) }, { requiredKeys: [] }),
    fc.anything(),
  ),
  { maxLength: 4 },
);

/** Post-shaped objects: every field present or absent, well-typed or not, NPF or legacy. */
const postLike = fc.record(
  {
    id_string: fc.oneof(fc.bigInt({ min: 1n, max: 10n ** 25n }).map(String), str, fc.anything()),
    id: fc.oneof(fc.integer(), fc.double(), fc.anything()),
    blog_name: fc.oneof(str, fc.anything()),
    blog: fc.oneof(fc.record({ name: str }), fc.anything()),
    post_url: fc.oneof(fc.webUrl(), str),
    timestamp: fc.oneof(fc.integer({ min: -10, max: Math.floor(NOW / 1000) + 10_000 }), fc.double(), fc.anything()),
    tags: fc.oneof(fc.array(fc.oneof(str, hostileHtml, fc.anything()), { maxLength: 30 }), fc.anything()),
    type: fc.constantFrom('text', 'photo', 'quote', 'link', 'chat', 'audio', 'video', 'answer', 'blocks', 'constructor', 'toString', '__proto__'),
    content: fc.oneof(fc.array(block, { maxLength: 12 }), fc.anything()),
    layout: fc.oneof(layout, fc.anything()),
    trail: fc.array(fc.record({ content: fc.array(block, { maxLength: 4 }), layout }, { requiredKeys: [] }), { maxLength: 3 }),
    caption: fc.oneof(hostileHtml, fc.anything()),
    body: fc.oneof(hostileHtml, fc.anything()),
    title: str,
    question: str,
    photos: fc.anything(),
    note_count: fc.anything(),
    is_blocks_post_format: fc.boolean(),
  },
  { requiredKeys: [] },
);

function checkParse(raw: unknown, stats: { worstMs: number }): boolean {
  const result = withinLimit('parseTumblrPost', () => parseTumblrPost(raw, ctx), stats);
  if (result.ok) {
    PostSchema.parse(result.post);
    assert.ok(result.post.text.length <= 20_000);
    assert.ok(result.post.timestamp <= NOW + 3_600_000, 'no post from the future');
  } else {
    assert.ok(SKIP_REASONS.has(result.reason), `unknown skip reason ${result.reason}`);
  }
  return true;
}

describe('fuzz: Tumblr post JSON (legacy and NPF)', () => {
  it('post-shaped objects: a Post or a named skip reason, within the CPU limit', () => {
    const stats = { worstMs: 0 };
    fc.assert(fc.property(postLike, (raw) => checkParse(raw, stats)), fuzzParams(1_500));
    process.stderr.write(`fuzz parseTumblrPost (post-shaped): worst ${stats.worstMs.toFixed(1)} ms CPU\n`);
  });

  it('any JSON value at all, and JSON text cut anywhere', () => {
    const stats = { worstMs: 0 };
    fc.assert(fc.property(fc.jsonValue(), (raw) => checkParse(raw, stats)), fuzzParams(800));
    fc.assert(
      fc.property(postLike, fc.nat(), (raw, cut) => {
        const text = JSON.stringify(raw) ?? '';
        let parsed: unknown;
        try {
          parsed = JSON.parse(text.slice(0, cut % (text.length + 1)));
        } catch {
          return true; // the client turns this into TUMBLR_BAD_RESPONSE (see tumblr-input.test.ts)
        }
        return checkParse(parsed, stats);
      }),
      fuzzParams(400),
    );
    process.stderr.write(`fuzz parseTumblrPost (any JSON): worst ${stats.worstMs.toFixed(1)} ms CPU\n`);
  });

  it('large posts: huge captions, tag lists, block lists and layouts', () => {
    const stats = { worstMs: 0 };
    const large = fc.record({
      recipe: largeRecipe,
      count: fc.integer({ min: 1_000, max: 50_000 }),
      repeat: fc.integer({ min: 10_000, max: 300_000 }),
    });
    fc.assert(
      fc.property(large, ({ recipe, count, repeat }) => {
        const caption = build(recipe);
        const base = { id_string: '1', blog_name: 'b', post_url: 'https://b.tumblr.com/post/1', timestamp: Math.floor(NOW / 1000) - 60 };
        checkParse({ ...base, type: 'photo', caption }, stats);
        checkParse({ ...base, tags: Array.from({ length: count }, (_, i) => `#Tag ${i}`), content: [{ type: 'text', text: caption }] }, stats);
        checkParse({ ...base, content: Array.from({ length: count }, (_, i) => ({ type: 'text', text: `happy day ${i}` })), layout: [{ type: 'ask', blocks: new Array<number>(repeat).fill(0) }] }, stats);
        return true;
      }),
      { ...fuzzParams(6), ...LARGE },
    );
    process.stderr.write(`fuzz parseTumblrPost (large): worst ${stats.worstMs.toFixed(1)} ms CPU\n`);
  });
});

describe('fuzz: HTML to text', () => {
  const checkHtml = (html: string, maxLength: number, stats: { worstMs: number }): boolean => {
    const result = withinLimit('htmlContent', () => htmlContent(html, maxLength), stats);
    assert.ok(result.text.length <= maxLength);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(result.text, /[\uFFFD\u0000]/);
    assert.doesNotMatch(result.text, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/, 'no lone surrogate');
    for (const sizes of result.images) for (const size of sizes) assert.ok(Number.isFinite(size.width) && Number.isFinite(size.height));
    const plain = withinLimit('plainToText', () => plainToText(html, maxLength), stats);
    assert.ok(plain.text.length <= maxLength);
    return true;
  };

  it('hostile fragments: no exception, text within its cap and free of undecodable characters, within the CPU limit', () => {
    const stats = { worstMs: 0 };
    fc.assert(fc.property(hostileHtml, fc.integer({ min: 1, max: 20_000 }), (html, max) => checkHtml(html, max, stats)), fuzzParams(2_000));
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 2_000 }), (html) => checkHtml(html, 20_000, stats)), fuzzParams(500));
    process.stderr.write(`fuzz htmlContent (fragments): worst ${stats.worstMs.toFixed(1)} ms CPU\n`);
  });

  it('large inputs: nested tags, long attribute runs, many entities, unclosed comments', () => {
    const stats = { worstMs: 0 };
    fc.assert(fc.property(largeRecipe, (recipe) => checkHtml(build(recipe), 20_000, stats)), { ...fuzzParams(30), ...LARGE });
    process.stderr.write(`fuzz htmlContent (large): worst ${stats.worstMs.toFixed(1)} ms CPU\n`);
  });

  it('script, style and event-handler contents never reach the text', () => {
    fc.assert(
      fc.property(fc.constantFrom('script', 'style', 'iframe', 'svg', 'template', 'noscript', 'SCRIPT', 'ScRiPt'), fc.string({ maxLength: 40 }).filter((s) => !/[<>]/.test(s)), (tag, code) => {
        const marker = `MARK${code.length}X`;
        const result = htmlContent(`<p>hello</p><${tag} a=1>${marker}${code}</${tag}>bye`, 20_000);
        assert.ok(!result.text.includes(marker), `${tag} leaked ${JSON.stringify(result.text)}`);
        assert.ok(result.markupRemoved);
        return true;
      }),
      fuzzParams(300),
    );
  });
});
