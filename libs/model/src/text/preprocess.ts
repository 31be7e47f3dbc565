/**
 * Text normalisation as in the Deep Sentiment study (lower-case, HTML remnants and punctuation
 * stripped, emotion hashtags removed so the label cannot leak), plus what it missed: emoji and
 * emoticons are kept as tokens because they carry much of a post's emotion.
 */

/** The self-report hashtags used as labels; they are removed from the text before scoring. */
export const EMOTION_HASHTAGS = ['happy', 'sad', 'angry', 'surprised', 'scared', 'disgusted'] as const;

/** Emoticons are mapped to stable word-like tokens so punctuation stripping cannot destroy them. */
const EMOTICONS: ReadonlyArray<[RegExp, string]> = [
  [/(?:^|\s)(?:<3+|&lt;3+)(?=\s|$)/g, ' <heart> '],
  [/(?:^|\s)<\/3(?=\s|$)/g, ' <brokenheart> '],
  [/(?:^|\s)[:=8xX]-?[)\]}>]+(?=\s|$|[.,!?])/g, ' <smile> '],
  [/(?:^|\s)[:=]-?[dD]+(?=\s|$|[.,!?])/g, ' <laugh> '],
  [/(?:^|\s)[xX][dD]+(?=\s|$|[.,!?])/g, ' <laugh> '],
  [/(?:^|\s)[:=]'?-?[([{<]+(?=\s|$|[.,!?])/g, ' <frown> '],
  [/(?:^|\s)[:=]'-?[)\]]+(?=\s|$|[.,!?])/g, ' <tearsofjoy> '],
  [/(?:^|\s);-?[)\]dD]+(?=\s|$|[.,!?])/g, ' <wink> '],
  [/(?:^|\s)[:=xX]-?[pP]+(?=\s|$|[.,!?])/g, ' <tongue> '],
  [/(?:^|\s)[:=]-?[oO0]+(?=\s|$|[.,!?])/g, ' <gasp> '],
  [/(?:^|\s)[:=]-?[/\\|sS](?=\s|$|[.,!?])/g, ' <unsure> '],
  [/(?:^|\s)[dD]-?:(?=\s|$)/g, ' <frown> '],
  [/(?:^|\s)[>]:-?[()]+(?=\s|$)/g, ' <angryface> '],
  [/(?:^|\s)(?:T_T|;_;|:'\(|QQ)(?=\s|$)/g, ' <cry> '],
  [/(?:^|\s)\^_*\^(?=\s|$)/g, ' <smile> '],
  [/(?:^|\s)[oO]_[oO](?=\s|$)/g, ' <gasp> '],
];

/**
 * Any of EMOTICONS (their alternation, one scan): a text without a match skips the sixteen replacements, which find
 * nothing in it either (nothing is replaced, so none can appear). Most posts have no emoticon, and the sixteen
 * scans were most of textTokens's time on them.
 */
const ANY_EMOTICON = new RegExp(EMOTICONS.map(([pattern]) => `(?:${pattern.source})`).join('|'));
/** A UTF-16 unit outside ASCII. Without one, NFC, the emoji and the curly quotes cannot apply (no ASCII character is pictographic). */
const NON_ASCII = /[\u0080-\uffff]/;

const HTML_TAG = /<\/?[a-zA-Z][^<>]*>/g;
const URL = /\bhttps?:\/\/\S+|\bwww\.\S+/gi;
const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', hellip: '…' };
const ENTITY = /&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi;
const EMOTION_HASHTAG = new RegExp(`#(?:${EMOTION_HASHTAGS.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
/** One pictographic emoji (skin tones, variation selectors and joiners are dropped around it). */
const EMOJI = /\p{Extended_Pictographic}/gu;
// Alternation, not a character class: these are combining marks, which a class would mis-group.
const EMOJI_NOISE = /[\u{1F3FB}-\u{1F3FF}]|\uFE0E|\uFE0F|\u200D|\u20E3/gu;
/** GloVe 6B was tokenised Penn-Treebank style: contractions are separate tokens ("do" "n't"). */
const CONTRACTION = /([\p{L}])(n't|'s|'m|'re|'ve|'ll|'d)(?![\p{L}])/gu;
const TOKEN = /<[a-z]+>|\p{Extended_Pictographic}|n't|'[a-z]+|[\p{L}\p{N}]+(?:[-_][\p{L}\p{N}]+)*/gu;

function decodeEntities(text: string): string {
  return text.replace(ENTITY, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/**
 * Normalises a post's text to space-separated tokens: lower-case words (other hashtags kept as
 * words), contractions split as GloVe expects, emoji one token each, emoticons as <smile>-style
 * tokens; HTML, URLs, punctuation and the six emotion hashtags removed.
 */
export function preprocessText(text: string): string {
  return textTokens(text).join(' ');
}

/** The tokens of preprocessText, as an array. */
export function textTokens(text: string): string[] {
  // Each step runs only when the character it needs is there: the same result, fewer scans of a plain post.
  let ascii = !NON_ASCII.test(text);
  let s = ascii ? text : text.normalize('NFC');
  if (s.includes('<')) s = s.replace(HTML_TAG, ' ');
  if (s.includes('&')) {
    // An entity can stand for an emoji or a curly quote.
    s = decodeEntities(s);
    ascii = !NON_ASCII.test(s);
  }
  if (s.includes('<')) s = s.replace(HTML_TAG, ' ');
  if (s.includes(':') || s.includes('.')) s = s.replace(URL, ' ');
  if (s.includes('#')) s = s.replace(EMOTION_HASHTAG, ' ');
  if (!ascii) {
    s = s.replace(EMOJI_NOISE, '');
    s = s.replace(EMOJI, (e) => ` ${e} `);
  }
  s = ` ${s.replace(/\s+/g, '  ')} `;
  if (ANY_EMOTICON.test(s)) for (const [pattern, token] of EMOTICONS) s = s.replace(pattern, token);
  s = s.toLowerCase();
  if (!ascii || s.includes('`')) s = s.replace(/[\u2018\u2019\u02bc`]/g, "'");
  if (s.includes("'")) s = s.replace(CONTRACTION, '$1 $2');
  return s.match(TOKEN) ?? [];
}
