import { htmlContent, plainToText, type PlainText } from './html-text';
import type { ImageCandidate } from './image-pick';

/**
 * What a post says and shows: its words as plain text and the sizes of its one picture (the first one the
 * post shows; the model takes one image per post). Both formats Tumblr serves are read — NPF `content`
 * blocks and the legacy types, whose HTML bodies carry NPF images as `<img>` — so one post reads the same
 * whichever format it arrived in.
 */
export interface PostContent {
  plain: PlainText;
  images: ImageCandidate[];
}

/**
 * Blocks read per post (and per trail entry). Real posts have a handful; a crafted one with tens of thousands cost
 * over 100 ms of CPU to walk, and past these the words would be cut at 20,000 characters anyway.
 */
export const MAX_BLOCKS = 1_000;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function candidate(value: unknown): ImageCandidate | null {
  if (!isObj(value)) return null;
  const url = str(value['url']);
  const width = value['width'];
  const height = value['height'];
  if (url === undefined || typeof width !== 'number' || typeof height !== 'number') return null;
  return { url, width, height };
}

/** A media list (NPF `media`, a `poster`, legacy `alt_sizes`); a lone media object counts as a list of one. */
function candidates(list: unknown): ImageCandidate[] {
  const items = Array.isArray(list) ? list : isObj(list) ? [list] : [];
  return items.map(candidate).filter((c): c is ImageCandidate => c !== null);
}

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

/**
 * NPF when the post has `content` blocks and no legacy word field to read instead: `npf=true` answers carry
 * `content`, and a legacy answer never does — except `answer` posts, whose legacy fields stay the fallback.
 */
function isNpf(raw: Obj): boolean {
  if (!Array.isArray(raw['content'])) return false;
  if (raw['type'] === 'blocks' || raw['is_blocks_post_format'] === true || raw['object_type'] === 'post') return true;
  return !('caption' in raw || 'body' in raw || 'question' in raw);
}

/** Text and image candidates of a post; null when it is of no type we know. */
export function extractContent(raw: Obj, maxText: number): PostContent | null {
  return isNpf(raw) ? npfContent(raw, maxText) : legacyContent(raw, maxText);
}

function legacyContent(raw: Obj, maxText: number): PostContent | null {
  const type = str(raw['type']);
  // Own keys only: a post whose type is "constructor" must not find Object's.
  const fields = type !== undefined && Object.hasOwn(LEGACY_TEXT_FIELDS, type) ? LEGACY_TEXT_FIELDS[type] : undefined;
  if (fields === undefined) return null;
  const parts = fields.map((field) => raw[field]).filter((value): value is string => typeof value === 'string' && value.trim() !== '');
  const html = htmlContent(parts.join('\n'), maxText);
  let images: ImageCandidate[] = [];
  if (type === 'photo' || type === 'link') {
    // Photo posts list their pictures; a link post may carry them as `photos` too.
    const first = (Array.isArray(raw['photos']) ? raw['photos'] : []).find(isObj);
    if (first !== undefined) images = [...candidates(first['alt_sizes']), ...candidates(first['original_size'])];
  }
  if (images.length === 0 && type === 'link') images = linkImage(raw);
  // Otherwise the first picture of the body: how a post made in the apps arrives as legacy `text`.
  if (images.length === 0) images = html.images[0] ?? [];
  const { text, markupRemoved, invalidUtf8, truncated } = html;
  return { plain: { text, markupRemoved, invalidUtf8, truncated }, images };
}

/** A legacy link post's preview picture: `link_image` with its `link_image_dimensions`. */
function linkImage(raw: Obj): ImageCandidate[] {
  const url = str(raw['link_image']);
  const size = raw['link_image_dimensions'];
  if (url === undefined || !isObj(size)) return [];
  const found = candidate({ url, width: size['width'], height: size['height'] });
  return found === null ? [] : [found];
}

/**
 * NPF: the reblogger's own blocks first, in layout order. A reblog's trail (the posts it quotes) counts only
 * when the reblogger added no words or picture of their own: the study scored what the user posted, and a
 * bare reblog posts the trail as it is. Then the trail's first entry (the original post) is read the same way.
 */
function npfContent(raw: Obj, maxText: number): PostContent {
  let own = blocksContent(raw['content'], raw['layout']);
  if (own.texts.length === 0 && own.images.length === 0 && Array.isArray(raw['trail'])) {
    const original = raw['trail'].find(isObj);
    if (original !== undefined) own = blocksContent(original['content'], original['layout']);
  }
  return { plain: plainToText(own.texts.join('\n'), maxText), images: own.images };
}

/**
 * Block indices in reading order. An `ask` layout's blocks are the question and come first; `rows` give the
 * display order of the rest; any block no layout mentions follows in content order. `truncate_after` only
 * folds the post on the dashboard, so every block is still read.
 */
function readingOrder(count: number, layout: unknown): number[] {
  // Sets rather than spread pushes: a layout listing an index hundreds of thousands of times would overflow the
  // stack as spread arguments. A block is placed once, first mention wins; ask blocks go before rows.
  const ask = new Set<number>();
  const rows = new Set<number>();
  const collect = (list: unknown, into: Set<number>): void => {
    if (!Array.isArray(list)) return;
    for (const i of list as unknown[]) if (Number.isInteger(i) && (i as number) >= 0 && (i as number) < count) into.add(i as number);
  };
  for (const entry of Array.isArray(layout) ? layout : []) {
    if (!isObj(entry)) continue;
    if (entry['type'] === 'ask') collect(entry['blocks'], ask);
    if (entry['type'] === 'rows' && Array.isArray(entry['display'])) {
      for (const row of entry['display']) if (isObj(row)) collect(row['blocks'], rows);
    }
  }
  const placed = new Set([...ask, ...rows]);
  const order = [...placed];
  for (let i = 0; i < count; i++) if (!placed.has(i)) order.push(i);
  return order;
}

function blocksContent(content: unknown, layout: unknown): { texts: string[]; images: ImageCandidate[] } {
  const texts: string[] = [];
  let images: ImageCandidate[] = [];
  if (!Array.isArray(content)) return { texts, images };
  const words = (...values: unknown[]): void => {
    for (const value of values) if (typeof value === 'string' && value.trim() !== '') texts.push(value);
  };
  // One picture per post: the first block that offers one.
  const picture = (list: unknown): void => {
    if (images.length === 0) images = candidates(list);
  };
  for (const index of readingOrder(Math.min(content.length, MAX_BLOCKS), layout)) {
    const block: unknown = content[index];
    if (!isObj(block)) continue;
    switch (block['type']) {
      // Every subtype (heading1/2, quote, quirky, indented, chat, list items) is words on a line.
      case 'text':
        words(block['text']);
        break;
      case 'image':
        picture(block['media']);
        // The author's description of the picture, then its caption: read as the legacy body's `<img alt>`.
        words(block['alt_text'], block['caption']);
        break;
      case 'link':
        words(block['title'], block['description']);
        picture(block['poster']);
        break;
      case 'audio':
        words(block['title'], block['artist'], block['album']);
        picture(block['poster']);
        break;
      case 'video':
        words(block['title']);
        picture(block['poster']);
        break;
    }
  }
  return { texts, images };
}
