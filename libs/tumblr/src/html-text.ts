import { Tokenizer } from 'htmlparser2';
import type { ImageCandidate } from './image-pick';

/**
 * Turns post HTML into plain text with a real HTML tokenizer (htmlparser2: one pass, linear in the input,
 * the full HTML entity table). User text is only ever text from here on: markup is dropped, not escaped,
 * and anything executable (script/style/iframe bodies, event handlers) goes with its contents.
 */
export interface PlainText {
  text: string;
  /** Executable or embedded markup was removed (script, style, iframe, object, on* handlers, javascript: URLs). */
  markupRemoved: boolean;
  /** Replacement characters from undecodable bytes, or lone surrogates, were removed. */
  invalidUtf8: boolean;
  /** The text was cut to `maxLength`. */
  truncated: boolean;
}

/** Plain text (with each `<img>`'s alt text) plus the pictures the HTML shows, in document order (legacy bodies carry NPF images as `<img>`). */
export interface HtmlContent extends PlainText {
  /** One entry per `<img>`: every size it offers (its `srcset` widths, or its `src`). */
  images: ImageCandidate[][];
}

/**
 * Input beyond this is cut before parsing (the post then counts as truncated). The tokenizer is linear, but
 * its constant is high on entity- or comment-dense input (about 0.1 µs a character on this class of
 * machine), and no post's words come near this: the text is cut to 20,000 characters anyway, which needs at
 * most ~80 KB of raw text. 128 KB keeps any body, however hostile, to tens of milliseconds even on a cold,
 * loaded process: at 256 KB a caption of 62,914 nested `<div><span>` took 104.8 ms of CPU in a CI run (the
 * fuzzer's limit is 100 ms; seed 1812375487).
 */
const MAX_INPUT = 131_072;

const MAX_ATTRIBUTES = 64;

/** Elements whose contents are code or embedded documents, never the user's words. */
const DROPPED = new Set(['script', 'style', 'iframe', 'object', 'noscript', 'template', 'svg', 'math', 'head', 'title', 'textarea', 'select']);
/** Void elements that embed something executable: reported, nothing to skip (they have no contents). */
const EMBEDDED = new Set(['embed', 'applet', 'frame']);
/** Elements that end a line of text: a word never runs across them. */
const BLOCK = new Set([
  'address', 'article', 'aside', 'blockquote', 'br', 'dd', 'details', 'div', 'dl', 'dt', 'figcaption', 'figure', 'footer',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hr', 'li', 'main', 'nav', 'ol', 'p', 'pre', 'section', 'summary',
  'table', 'td', 'th', 'tr', 'ul',
]);

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// eslint-disable-next-line no-control-regex
const SUSPECT = /[\uD800-\uDFFF\uFFFD\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

/**
 * Removes what undecodable bytes left behind (U+FFFD), lone UTF-16 surrogates (a JSON `\ud83d` escape
 * alone is valid JSON but not text) and control characters other than newline and tab.
 */
export function cleanCharacters(text: string): { text: string; invalidUtf8: boolean } {
  // Almost all text is clean: one scan decides, and only dirty text pays for the three rewrites.
  if (!SUSPECT.test(text)) return { text, invalidUtf8: false };
  const withoutSurrogates = text.replace(LONE_SURROGATE, '');
  const invalidUtf8 = withoutSurrogates.length !== text.length || text.includes('\uFFFD');
  return { text: withoutSurrogates.replace(/\uFFFD/g, '').replace(CONTROL, ''), invalidUtf8 };
}

function collapseWhitespace(text: string): string {
  // Runs are squeezed first, so the second pattern never rescans a long run of blanks.
  return text
    .replace(/[ \t\u00a0\r\f\v]+/g, ' ')
    .replace(/ ?\n[\s]*/g, '\n')
    .trim();
}

function cut(text: string, maxLength: number): { text: string; truncated: boolean } {
  if (text.length <= maxLength) return { text, truncated: false };
  // Never split a surrogate pair.
  let end = maxLength;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return { text: text.slice(0, end), truncated: true };
}

const positive = (value: string | undefined): number | null => {
  if (value === undefined || !/^\s*\d{1,6}\s*$/.test(value)) return null;
  const n = Number(value);
  return n > 0 ? n : null;
};

/**
 * The sizes an `<img>` offers. Tumblr's bodies give the original's size in `data-orig-width/-height` and
 * its renditions in `srcset` ("url 640w, …"); each rendition's height follows from the original's ratio.
 */
function imageSizes(attribs: Record<string, string>): ImageCandidate[] {
  const origWidth = positive(attribs['data-orig-width']) ?? positive(attribs['width']);
  const origHeight = positive(attribs['data-orig-height']) ?? positive(attribs['height']);
  const sizes: ImageCandidate[] = [];
  const srcset = attribs['srcset'];
  if (srcset !== undefined && origWidth !== null && origHeight !== null) {
    for (const entry of srcset.split(',')) {
      const [url, descriptor] = entry.trim().split(/\s+/, 2);
      const width = descriptor !== undefined && /^\d{1,6}w$/.test(descriptor) ? Number(descriptor.slice(0, -1)) : null;
      if (url !== undefined && url !== '' && width !== null && width > 0) {
        sizes.push({ url, width, height: Math.round((width * origHeight) / origWidth) });
      }
    }
  }
  const src = attribs['src'];
  if (sizes.length === 0 && src !== undefined && src !== '' && origWidth !== null && origHeight !== null) {
    sizes.push({ url: src.trim(), width: origWidth, height: origHeight });
  }
  return sizes;
}

const executableUrl = (value: string): boolean => /^\s*(?:javascript|vbscript|data):/i.test(value);

/** Tag names arrive as source slices; matching them lower-cased is what HTML does. */
const lower = (value: string): string => value.toLowerCase();

/**
 * Text and pictures of one HTML fragment. Driven by htmlparser2's tokenizer rather than its `Parser`: the
 * tokenizer is one linear pass, while the `Parser` keeps its open-element stack with `Array.unshift`, so
 * 300,000 nested `<b>` cost it a minute. Text needs no tree: block boundaries and dropped subtrees are
 * all that structure decides here.
 */
export function htmlContent(html: string, maxLength: number): HtmlContent {
  const oversized = html.length > MAX_INPUT;
  const input = oversized ? html.slice(0, MAX_INPUT) : html;
  // Enough raw text to fill maxLength after whitespace is squeezed; the rest is still scanned for images.
  const keepChars = maxLength * 4 + 1024;
  let raw = '';
  const images: ImageCandidate[][] = [];
  let dropDepth = 0;
  let markupRemoved = false;
  let tagName = '';
  let attribName = '';
  let attribValue = '';
  let attribs: Record<string, string> = {};
  let attribCount = 0;

  const addText = (text: string): void => {
    if (dropDepth === 0 && raw.length < keepChars) raw += text;
  };
  const openTag = (selfClosing: boolean): void => {
    for (const [key, value] of Object.entries(attribs)) {
      if (key.startsWith('on') || ((key === 'href' || key === 'src') && executableUrl(value))) markupRemoved = true;
    }
    if (EMBEDDED.has(tagName)) markupRemoved = true;
    if (DROPPED.has(tagName)) {
      markupRemoved = true;
      if (!selfClosing) dropDepth++;
      return;
    }
    if (dropDepth > 0) return;
    if (BLOCK.has(tagName)) addText('\n');
    if (tagName === 'img') {
      const sizes = imageSizes(attribs);
      if (sizes.length > 0) images.push(sizes);
      // The one attribute that is the author's words: what the picture shows (NPF's `alt_text`), on its own line.
      const alt = attribs['alt'];
      if (alt !== undefined && alt.trim() !== '') addText(`\n${alt}\n`);
    }
  };

  const tokenizer = new Tokenizer(
    { decodeEntities: true, recognizeSelfClosing: true },
    {
      ontext: (start, end) => addText(input.slice(start, end)),
      ontextentity: (codepoint) => addText(String.fromCodePoint(codepoint)),
      onopentagname: (start, end) => {
        tagName = lower(input.slice(start, end));
        attribs = {};
        attribCount = 0;
      },
      // Attributes past the first MAX_ATTRIBUTES of a tag are skipped unread: no real tag has that many, and a
      // hostile one (`<a <a <a …`) would otherwise cost a string per attribute.
      onattribname: (start, end) => {
        attribCount++;
        attribName = attribCount > MAX_ATTRIBUTES ? '' : lower(input.slice(start, end));
        attribValue = '';
      },
      onattribdata: (start, end) => {
        if (attribName !== '') attribValue += input.slice(start, end);
      },
      onattribentity: (codepoint) => {
        if (attribName !== '') attribValue += String.fromCodePoint(codepoint);
      },
      onattribend: () => {
        // The first of two same-named attributes wins, as in a browser.
        if (attribName !== '' && !Object.hasOwn(attribs, attribName)) attribs[attribName] = attribValue;
      },
      onopentagend: () => openTag(false),
      onselfclosingtag: () => openTag(true),
      onclosetag: (start, end) => {
        const name = lower(input.slice(start, end));
        if (DROPPED.has(name)) dropDepth = Math.max(0, dropDepth - 1);
        else if (dropDepth === 0 && BLOCK.has(name)) addText('\n');
      },
      oncdata: () => undefined,
      oncomment: () => undefined,
      ondeclaration: () => undefined,
      onprocessinginstruction: () => undefined,
      onend: () => undefined,
    },
  );
  tokenizer.write(input);
  tokenizer.end();
  const chars = cleanCharacters(raw);
  const { text, truncated } = cut(collapseWhitespace(chars.text), maxLength);
  return { text, markupRemoved, invalidUtf8: chars.invalidUtf8, truncated: truncated || oversized || raw.length >= keepChars, images };
}

export function htmlToText(html: string, maxLength: number): PlainText {
  const { text, markupRemoved, invalidUtf8, truncated } = htmlContent(html, maxLength);
  return { text, markupRemoved, invalidUtf8, truncated };
}

/** For text that is already plain (NPF text blocks): no markup interpretation, same character hygiene. */
export function plainToText(plain: string, maxLength: number): PlainText {
  const oversized = plain.length > MAX_INPUT;
  const chars = cleanCharacters(oversized ? plain.slice(0, MAX_INPUT) : plain);
  const { text, truncated } = cut(collapseWhitespace(chars.text), maxLength);
  return { text, markupRemoved: false, invalidUtf8: chars.invalidUtf8, truncated: truncated || oversized };
}
