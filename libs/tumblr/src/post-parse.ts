import { normaliseTag, PostSchema, describeZodError, type Post, type PostInput } from '@moodstream/events';
import { countEnglishWords } from './english-words';
import { htmlToText, plainToText, type PlainText } from './html-text';
import { pickImageUrl, MIN_SHORT_SIDE, type ImageCandidate } from './image-pick';
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

  const blog = str(raw['blog_name']) ?? (isObj(raw['blog']) ? str(raw['blog']['name']) : undefined);
  if (blog === undefined || blog.trim() === '' || blog.length > 256) return skip('missing-blog');

  const url = str(raw['post_url']);
  if (url === undefined || !isHttpUrl(url)) return skip('bad-url');

  const seconds = raw['timestamp'];
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds <= 0 || seconds > 32_503_680_000) return skip('bad-timestamp');

  const cleaned = new Set<CleanReason>();
  const rawTags = raw['tags'] ?? [];
  if (!Array.isArray(rawTags)) return skip('bad-tags');
  const tags: string[] = [];
  for (const tag of rawTags) {
    const normalised = typeof tag === 'string' ? normaliseTag(tag) : '';
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

  if (ctx.minEnglishWords > 0) {
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
    imageUrl: pickImageUrl(images, ctx.minImageShortSide ?? MIN_SHORT_SIDE),
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

function candidate(value: unknown): ImageCandidate | null {
  if (!isObj(value)) return null;
  const url = str(value['url']);
  const width = value['width'];
  const height = value['height'];
  if (url === undefined || typeof width !== 'number' || typeof height !== 'number') return null;
  return { url, width, height };
}

function candidates(list: unknown): ImageCandidate[] {
  return Array.isArray(list) ? list.map(candidate).filter((c): c is ImageCandidate => c !== null) : [];
}

function isNpf(raw: Obj): boolean {
  return Array.isArray(raw['content']) && (raw['type'] === 'blocks' || raw['is_blocks_post_format'] === true || raw['object_type'] === 'post' || !('caption' in raw || 'body' in raw));
}

/** Text and image candidates of a post; null when the shape is unusable. */
/** Where each legacy post type keeps its words, in reading order. */
const LEGACY_TEXT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  photo: ['caption'],
  text: ['title', 'body'],
  chat: ['title', 'body'],
  quote: ['text', 'source'],
  link: ['title', 'description'],
  answer: ['question', 'answer'],
  video: ['caption'],
  audio: ['caption'],
};

function extractContent(raw: Obj, maxText: number): { plain: PlainText; images: ImageCandidate[] } | null {
  if (isNpf(raw)) return npfContent(raw, maxText);
  const type = str(raw['type']);
  // Own keys only: a post whose type is "constructor" must not find Object's.
  const fields = type !== undefined && Object.hasOwn(LEGACY_TEXT_FIELDS, type) ? LEGACY_TEXT_FIELDS[type] : undefined;
  if (fields === undefined) return null;
  const parts = fields.map((field) => raw[field]).filter((value): value is string => typeof value === 'string' && value.trim() !== '');
  const images: ImageCandidate[] = [];
  if (type === 'photo') {
    const photos = Array.isArray(raw['photos']) ? raw['photos'] : [];
    const first = photos.find(isObj);
    if (first !== undefined) {
      images.push(...candidates(first['alt_sizes']));
      const original = candidate(first['original_size']);
      if (original !== null) images.push(original);
    }
  }
  return { plain: htmlToText(parts.join('\n'), maxText), images };
}

function npfContent(raw: Obj, maxText: number): { plain: PlainText; images: ImageCandidate[] } | null {
  const blocks = blocksOf(raw['content']);
  let texts = blocks.texts;
  let images = blocks.images;
  // A reblog with no words of its own: the study's text is the original poster's.
  if (texts.length === 0 && Array.isArray(raw['trail'])) {
    const first = raw['trail'].find(isObj);
    if (first !== undefined) {
      const trail = blocksOf(first['content']);
      texts = trail.texts;
      if (images.length === 0) images = trail.images;
    }
  }
  return { plain: plainToText(texts.join('\n'), maxText), images };
}

function blocksOf(content: unknown): { texts: string[]; images: ImageCandidate[] } {
  const texts: string[] = [];
  let images: ImageCandidate[] = [];
  if (!Array.isArray(content)) return { texts, images };
  for (const block of content) {
    if (!isObj(block)) continue;
    if (block['type'] === 'text' && typeof block['text'] === 'string') texts.push(block['text']);
    // Only the first image block's sizes: one picture per post.
    if (block['type'] === 'image' && images.length === 0) images = candidates(block['media']);
  }
  return { texts, images };
}
