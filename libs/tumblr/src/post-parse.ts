import { MAX_FUTURE_SKEW_MS, normaliseTag, PostSchema, describeZodError, type Post, type PostInput } from '@moodstream/events';
import { countEnglishWords } from './english-words';
import { cleanCharacters } from './html-text';
import { extractContent } from './post-content';
import { pickImageUrl, MIN_SHORT_SIDE } from './image-pick';
import { labelFromTags, removeEmotionHashtags } from './labels';

/** Why a post was dropped. Each is counted in metrics under this name. */
export type SkipReason =
  | 'not-an-object'
  | 'missing-id'
  | 'missing-blog'
  | 'bad-url'
  | 'bad-timestamp'
  | 'bad-tags'
  | 'no-content'
  | 'too-few-english-words'
  | 'invalid-post';

/** What was repaired in a post that was kept. */
export type CleanReason = 'markup-removed' | 'invalid-utf8' | 'text-truncated' | 'tags-dropped';

export type ParseResult =
  | { ok: true; post: Post; cleaned: CleanReason[] }
  | { ok: false; reason: SkipReason; detail?: string; id?: string };

export interface ParseContext {
  /** The watched tag (normalised) the post was fetched under. */
  foundUnder: string;
  /** Every watched topic (normalised): a post's topics are those among its own tags. */
  watchedTopics: ReadonlySet<string>;
  source: Post['source'];
  ingestedAt: number;
  /** Posts with fewer known English words are dropped (the study used 5); 0 disables the check. */
  minEnglishWords: number;
  maxTextLength?: number;
  minImageShortSide?: number;
}

const MAX_TEXT = 20_000;
const MAX_TAGS = 256;
const MAX_TAG_LENGTH = 140;
const MAX_TOPICS = 64;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Parses one post of either the legacy formats or NPF into a `Post`, or says why it can't. Never throws. */
export function parseTumblrPost(raw: unknown, ctx: ParseContext): ParseResult {
  if (!isObj(raw)) return { ok: false, reason: 'not-an-object' };
  const id = postId(raw);
  if (id === undefined) return { ok: false, reason: 'missing-id' };
  const skip = (reason: SkipReason, detail?: string): ParseResult => ({ ok: false, reason, id, ...(detail === undefined ? {} : { detail }) });

  const cleaned = new Set<CleanReason>();
  // Every text field gets the same character hygiene as the post's words: undecodable bytes and lone
  // surrogates become nothing, and the post counts as repaired.
  const clean = (value: string): string => {
    const result = cleanCharacters(value);
    if (result.invalidUtf8) cleaned.add('invalid-utf8');
    return result.text;
  };
  const rawBlog = str(raw['blog_name']) ?? (isObj(raw['blog']) ? str(raw['blog']['name']) : undefined);
  const blog = rawBlog === undefined ? undefined : clean(rawBlog);
  if (blog === undefined || blog.trim() === '' || blog.length > 256) return skip('missing-blog');

  const url = str(raw['post_url']);
  if (url === undefined || !isHttpUrl(url)) return skip('bad-url');

  const seconds = raw['timestamp'];
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds <= 0 || seconds > 32_503_680_000) return skip('bad-timestamp');
  if (seconds * 1000 > ctx.ingestedAt + MAX_FUTURE_SKEW_MS) return skip('bad-timestamp', 'dated in the future');

  const rawTags = raw['tags'] ?? [];
  if (!Array.isArray(rawTags)) return skip('bad-tags');
  const tags: string[] = [];
  // Only so many are looked at: normalising 100,000 tags to keep 256 is work for nothing.
  if (rawTags.length > MAX_TAGS * 4) cleaned.add('tags-dropped');
  for (const tag of rawTags.slice(0, MAX_TAGS * 4)) {
    const normalised = typeof tag === 'string' ? normaliseTag(clean(tag)) : '';
    if (normalised === '' || normalised.length > MAX_TAG_LENGTH || tags.length >= MAX_TAGS) {
      cleaned.add('tags-dropped');
      continue;
    }
    tags.push(normalised);
  }

  const maxText = ctx.maxTextLength ?? MAX_TEXT;
  const content = extractContent(raw, maxText);
  if (content === null) return skip('no-content');
  const { plain, images } = content;
  if (plain.markupRemoved) cleaned.add('markup-removed');
  if (plain.invalidUtf8) cleaned.add('invalid-utf8');
  if (plain.truncated) cleaned.add('text-truncated');
  const text = removeEmotionHashtags(plain.text);
  const imageUrl = pickImageUrl(images, ctx.minImageShortSide ?? MIN_SHORT_SIDE);

  // The model scores text, image or both: a picture without words is an image-only post. Only words are
  // judged for English (the study's filter was about prose); a post with neither has nothing to score.
  if (text === '' && imageUrl === null) return skip('no-content');
  if (text !== '' && ctx.minEnglishWords > 0) {
    const known = countEnglishWords(text);
    if (known < ctx.minEnglishWords) return skip('too-few-english-words', `${known} known words`);
  }

  const topics = [ctx.foundUnder, ...tags.filter((t) => ctx.watchedTopics.has(t) && t !== ctx.foundUnder)].slice(0, MAX_TOPICS);
  const noteCount = raw['note_count'];
  const input: PostInput = {
    id,
    blog: blog.trim(),
    url,
    timestamp: seconds * 1000,
    topics,
    tags,
    text,
    imageUrl,
    noteCount: typeof noteCount === 'number' && Number.isInteger(noteCount) && noteCount >= 0 ? noteCount : null,
    source: ctx.source,
    label: labelFromTags(tags),
    ingestedAt: ctx.ingestedAt,
  };
  const parsed = PostSchema.safeParse(input);
  if (!parsed.success) return skip('invalid-post', describeZodError(parsed.error));
  return { ok: true, post: parsed.data, cleaned: [...cleaned] };
}

/** The string id; the numeric `id` only when it is exactly representable (Tumblr ids exceed 2^53). */
function postId(raw: Obj): string | undefined {
  const idString = str(raw['id_string']);
  if (idString !== undefined && /^\d{1,30}$/.test(idString)) return idString;
  const id = raw['id'];
  if (typeof id === 'number' && Number.isSafeInteger(id) && id > 0) return String(id);
  if (typeof id === 'string' && /^\d{1,30}$/.test(id)) return id;
  return undefined;
}

function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\//i.test(value) || value.length > 2048) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
