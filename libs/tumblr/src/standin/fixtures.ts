import { seededRandom } from '@moodstream/core';

/**
 * Generated Tumblr post fixtures in the shapes the public API documentation describes: legacy `photo`
 * and `text` posts (caption/body HTML, `photos[].alt_sizes` + `original_size`) and Neue Post Format
 * posts (`content` blocks of type text and image with `media` arrays). Image URLs use the `{{base}}`
 * placeholder, which the stand-in replaces with its own address when it answers.
 */
export type RawTumblrPost = Record<string, unknown>;

/** Where this marker appears in a fixture, the stand-in writes bytes that are not valid UTF-8. */
export const INVALID_UTF8_MARKER = '\u0000INVALID-UTF8\u0000';

export type PostFormat = 'legacy-photo' | 'legacy-text' | 'npf';

export interface FixtureOptions {
  /** Watched tags: every post carries at least one of them. */
  tags: string[];
  /** Posts found under each tag (a post carrying two watched tags counts for both). */
  perTag: number;
  /** Share (0..1) of posts that also carry a second watched tag. */
  overlap?: number;
  /** Newest post timestamp, epoch seconds; older posts step back from it. */
  newestTimestamp?: number;
  /** Seconds between consecutive posts (all timestamps are distinct). */
  spacingSeconds?: number;
  seed?: number;
  /** Formats cycled through; default all three. */
  formats?: PostFormat[];
  /** First id; ids are consecutive 18-digit strings (beyond 2^53, as Tumblr's are). */
  firstId?: bigint;
}

const WORDS = [
  'today', 'feel', 'really', 'good', 'about', 'the', 'weather', 'and', 'my', 'friends', 'finally', 'came', 'home',
  'after', 'long', 'week', 'work', 'this', 'morning', 'was', 'so', 'strange', 'never', 'thought', 'would', 'happen',
  'again', 'coffee', 'tastes', 'better', 'when', 'sun', 'is', 'out', 'lost', 'keys', 'train', 'late', 'cannot',
  'believe', 'what', 'they', 'said', 'dog', 'found', 'old', 'photo', 'from', 'summer', 'little', 'sister', 'laughed',
  'night', 'city', 'quiet', 'rain', 'started', 'window', 'music', 'loud', 'people', 'everywhere', 'movie', 'ending',
];
const EMOTION_TAGS = ['happy', 'sad', 'angry', 'surprised', 'scared', 'disgusted'];
const EXTRA_TAGS = ['life', 'mood', 'photography', 'personal', 'daily', 'art'];


export interface GeneratedFixtures {
  posts: RawTumblrPost[];
  /** For each watched tag, the ids of the posts found under it. */
  idsByTag: Map<string, string[]>;
  /** Every distinct post id. */
  ids: string[];
}

/**
 * Builds `perTag` posts per watched tag. With overlap, some posts carry two watched tags, so they are
 * found under both and the number of distinct posts is below tags × perTag.
 */
export function generateTaggedPosts(options: FixtureOptions): GeneratedFixtures {
  const random = seededRandom(options.seed ?? 1);
  const overlap = options.overlap ?? 0.2;
  const spacing = options.spacingSeconds ?? 7;
  const newest = options.newestTimestamp ?? 1_700_000_000;
  const formats = options.formats ?? ['legacy-photo', 'npf', 'legacy-text'];
  let nextId = options.firstId ?? 712_345_678_901_230_000n;
  const remaining = new Map(options.tags.map((t) => [t, options.perTag]));
  const idsByTag = new Map<string, string[]>(options.tags.map((t) => [t, []]));
  const posts: RawTumblrPost[] = [];
  let timestamp = newest;
  let i = 0;

  const open = (): string[] => options.tags.filter((t) => (remaining.get(t) ?? 0) > 0);
  for (let candidates = open(); candidates.length > 0; candidates = open()) {
    const primary = candidates[Math.floor(random() * candidates.length)] as string;
    const watched = [primary];
    const others = candidates.filter((t) => t !== primary);
    if (others.length > 0 && random() < overlap) watched.push(others[Math.floor(random() * others.length)] as string);
    for (const tag of watched) {
      remaining.set(tag, (remaining.get(tag) ?? 0) - 1);
      idsByTag.get(tag)?.push(nextId.toString());
    }
    const format = formats[i % formats.length] as PostFormat;
    posts.push(buildPost({ id: nextId, timestamp, watched, format, random }));
    nextId += 1n;
    timestamp -= spacing;
    i++;
  }
  return { posts, idsByTag, ids: posts.map((p) => p['id_string'] as string) };
}

function sentence(random: () => number, length: number): string {
  const words: string[] = [];
  for (let i = 0; i < length; i++) words.push(WORDS[Math.floor(random() * WORDS.length)] as string);
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1) + '.';
}

export interface BuildPostInput {
  id: bigint;
  timestamp: number;
  watched: string[];
  format: PostFormat;
  random?: () => number;
  /** Overrides the generated text (HTML for legacy formats). */
  text?: string;
  /** Extra tags placed before the watched ones (in the user's order). */
  leadingTags?: string[];
}

/** One post in the requested format; emotion tags among `watched` become the self-reported label. */
export function buildPost(input: BuildPostInput): RawTumblrPost {
  const random = input.random ?? seededRandom(Number(input.id % 100_000n));
  const idString = input.id.toString();
  const blog = `blog${Number(input.id % 997n)}`;
  const extra = EXTRA_TAGS[Math.floor(random() * EXTRA_TAGS.length)] as string;
  const tags = [...(input.leadingTags ?? []), ...input.watched, extra];
  const firstEmotion = tags.find((t) => EMOTION_TAGS.includes(t.toLowerCase()));
  const body = input.text ?? `${sentence(random, 8 + Math.floor(random() * 10))}${firstEmotion ? ` #${firstEmotion}` : ''}`;
  const imageName = `p${idString.slice(-8)}`;
  const common: RawTumblrPost = {
    blog_name: blog,
    // The number loses precision beyond 2^53, which is why clients must use id_string.
    id: Number(idString),
    id_string: idString,
    post_url: `https://${blog}.tumblr.com/post/${idString}`,
    slug: '',
    timestamp: input.timestamp,
    date: new Date(input.timestamp * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' GMT'),
    tags,
    note_count: Math.floor(random() * 500),
    reblog_key: `rk${idString.slice(-6)}`,
    summary: body.slice(0, 60),
  };
  const sizes: [number, number][] = [
    [1280, 960],
    [640, 480],
    [500, 375],
    [400, 300],
    [250, 188],
    [100, 75],
  ];
  const sizeObject = ([w, h]: [number, number]): RawTumblrPost => ({ url: `{{base}}/images/${imageName}_${w}x${h}.jpg`, width: w, height: h });
  switch (input.format) {
    case 'legacy-photo':
      return {
        ...common,
        type: 'photo',
        format: 'html',
        caption: input.text ?? `<p>${escapeHtml(body)}</p>`,
        photos: [{ caption: '', alt_sizes: sizes.map(sizeObject), original_size: sizeObject(sizes[0] as [number, number]) }],
      };
    case 'legacy-text':
      return { ...common, type: 'text', format: 'html', title: null, body: input.text ?? `<p>${escapeHtml(body)}</p>` };
    case 'npf':
      return {
        ...common,
        object_type: 'post',
        type: 'blocks',
        is_blocks_post_format: true,
        content: [
          // No alt text: most posts have none, and it would be read as words.
          { type: 'image', media: sizes.map((s) => ({ ...sizeObject(s), type: 'image/jpeg' })) },
          { type: 'text', text: body },
        ],
        layout: [],
        trail: [],
      };
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Posts that are wrong in the ways real data is: each carries `expect` (the skip or clean reason the
 * parser should count) so tests can assert on it. They all carry `tag`.
 */
export function badPosts(tag: string, newestTimestamp: number, firstId = 799_000_000_000_000_000n): { post: RawTumblrPost; expect: string }[] {
  const good = (offset: number, format: PostFormat = 'legacy-photo', text?: string): RawTumblrPost =>
    buildPost({ id: firstId + BigInt(offset), timestamp: newestTimestamp - offset, watched: [tag], format, ...(text === undefined ? {} : { text }) });
  const withoutId = good(0);
  delete withoutId['id_string'];
  delete withoutId['id'];
  const wrongTimestamp = good(1);
  wrongTimestamp['timestamp'] = 'yesterday';
  const wrongTags = good(2);
  wrongTags['tags'] = 'happy,sad';
  const huge = good(3, 'legacy-text', `<p>${'so much to say about today and the weather '.repeat(30_000)}</p>`);
  const script = good(4, 'legacy-photo', '<p>I feel really good about the weather today</p><script>alert("x")</script><img src=x onerror="alert(1)">');
  const invalidUtf8 = good(5, 'legacy-text', `<p>My friends came home after a long week ${INVALID_UTF8_MARKER} and we laughed</p>`);
  const fewWords = good(6, 'legacy-text', '<p>lol ok</p>');
  const noBlog = good(7);
  delete noBlog['blog_name'];
  const badUrl = good(8);
  badUrl['post_url'] = 'javascript:alert(1)';
  return [
    { post: withoutId, expect: 'missing-id' },
    { post: wrongTimestamp, expect: 'bad-timestamp' },
    { post: wrongTags, expect: 'bad-tags' },
    { post: huge, expect: 'text-truncated' },
    { post: script, expect: 'markup-removed' },
    { post: invalidUtf8, expect: 'invalid-utf8' },
    { post: fewWords, expect: 'too-few-english-words' },
    { post: noBlog, expect: 'missing-blog' },
    { post: badUrl, expect: 'bad-url' },
  ];
}
