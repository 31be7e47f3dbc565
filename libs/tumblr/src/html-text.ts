/**
 * Turns post HTML into plain text. User text is only ever text from here on: markup is dropped, not
 * escaped, and anything executable (script/style/iframe bodies, event handlers) goes with its contents.
 */
export interface PlainText {
  text: string;
  /** Executable or embedded markup was removed (script, style, iframe, object, on* handlers, javascript: URLs). */
  markupRemoved: boolean;
  /** Replacement characters from undecodable bytes were removed. */
  invalidUtf8: boolean;
  /** The text was cut to `maxLength`. */
  truncated: boolean;
}

/** Input beyond this is cut before any regex runs, so a hostile body costs bounded time. */
const MAX_INPUT = 200_000;

const DANGEROUS_BLOCK = /<(script|style|iframe|object|embed|noscript|template)\b[^>]*>[\s\S]*?(?:<\/\1\s*>|$)/gi;
const DANGEROUS_HINT = /<(?:script|style|iframe|object|embed|noscript|template)\b|\son[a-z]+\s*=|javascript:/i;
const BLOCK_BREAK = /<(?:br|\/p|\/div|\/li|\/h[1-6]|\/blockquote|\/tr)\b[^>]*>/gi;
const ANY_TAG = /<\/?[a-z!][^>]*>/gi;
const COMMENT = /<!--[\s\S]*?(?:-->|$)/g;

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', hellip: '…', mdash: '—', ndash: '–',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', copy: '©', reg: '®', trade: '™', euro: '€', pound: '£',
  yen: '¥', cent: '¢', deg: '°', middot: '·', bull: '•', times: '×', divide: '÷', laquo: '«', raquo: '»',
  eacute: 'é', egrave: 'è', agrave: 'à', aacute: 'á', ccedil: 'ç', ntilde: 'ñ', ouml: 'ö', uuml: 'ü', auml: 'ä',
  szlig: 'ß', hearts: '♥', larr: '←', rarr: '→', shy: '',
};

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z][a-z0-9]{1,31});/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '';
      return String.fromCodePoint(code);
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/** Removes undecodable bytes' replacement characters and control characters other than newline and tab. */
export function cleanCharacters(text: string): { text: string; invalidUtf8: boolean } {
  const invalidUtf8 = text.includes('\uFFFD');
  // eslint-disable-next-line no-control-regex
  const cleaned = text.replace(/\uFFFD/g, '').replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, '');
  return { text: cleaned, invalidUtf8 };
}

function collapseWhitespace(text: string): string {
  return text
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ *\n[\s]*/g, '\n')
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

export function htmlToText(html: string, maxLength: number): PlainText {
  const oversized = html.length > MAX_INPUT;
  const input = oversized ? html.slice(0, MAX_INPUT) : html;
  const markupRemoved = DANGEROUS_HINT.test(input);
  const stripped = input.replace(COMMENT, ' ').replace(DANGEROUS_BLOCK, ' ').replace(BLOCK_BREAK, '\n').replace(ANY_TAG, ' ');
  const chars = cleanCharacters(decodeEntities(stripped));
  const { text, truncated } = cut(collapseWhitespace(chars.text), maxLength);
  return { text, markupRemoved, invalidUtf8: chars.invalidUtf8, truncated: truncated || oversized };
}

/** For text that is already plain (NPF text blocks): no markup interpretation, same character hygiene. */
export function plainToText(plain: string, maxLength: number): PlainText {
  const oversized = plain.length > MAX_INPUT;
  const chars = cleanCharacters(oversized ? plain.slice(0, MAX_INPUT) : plain);
  const { text, truncated } = cut(collapseWhitespace(chars.text), maxLength);
  return { text, markupRemoved: false, invalidUtf8: chars.invalidUtf8, truncated: truncated || oversized };
}
