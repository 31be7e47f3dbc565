import { EMOTION_COUNT, type ScoredPost, type WordShiftTermKind } from '@moodstream/events';
import { MICRO } from './bucket';

/**
 * Terms of a post for word shifts: its distinct words (lower-cased, stop words dropped), emoji, and the other watched
 * topics it was found under (co-occurring tags, as "#tag"). A ScoredPost carries its text (truncated at 2,000
 * characters) and its watched topics, not all of its tags: those are what there is.
 */

/** Distinct words and emoji kept per post (in order of first appearance): long posts do not crowd out short ones. */
export const MAX_TERMS_PER_POST = 24;
/** Co-occurring tags kept per post on top of that. */
export const MAX_TAGS_PER_POST = 8;
/** Longest term kept (a term is a hash field in Redis and a label in the dashboard). */
export const MAX_TERM_LENGTH = 32;

/**
 * Function words carry no mood of their own and would only dilute every shift. A short list on purpose: negations
 * ("not", "no", "never") stay, because they do carry mood.
 */
const STOP_WORDS = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have he her here him his how i if in into is it its ' +
    "it's i'm i've i'd i'll me my of on or our out so than that that's the their them then there these they this those to too " +
    'up us was we were what when where which who why will with would you your just about also am im ive dont its thats youre'
  ).split(' '),
);

// A word starts with a letter and goes on with letters, digits, apostrophes and inner hyphens.
const TOKEN = /\p{L}[\p{L}\p{M}\p{N}'’-]*|\p{Extended_Pictographic}(?:\uFE0F)?(?:\u200D\p{Extended_Pictographic}(?:\uFE0F)?)*/gu;
const EMOJI = /\p{Extended_Pictographic}/u;

export function termKind(term: string): WordShiftTermKind {
  if (term.startsWith('#')) return 'tag';
  return EMOJI.test(term) ? 'emoji' : 'word';
}

/** The post's words and emoji, distinct, in order of first appearance, at most MAX_TERMS_PER_POST. */
export function textTerms(text: string): string[] {
  const terms: string[] = [];
  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(text); match !== null; match = TOKEN.exec(text)) {
    let term = match[0];
    // Only a non-ASCII first character can start an emoji.
    if (term.charCodeAt(0) < 0x80 || !EMOJI.test(term)) {
      term = term.toLowerCase();
      if (term.includes('’')) term = term.replace(/’/g, "'");
      const last = term.charCodeAt(term.length - 1);
      if (last === 39 || last === 45) term = term.replace(/['-]+$/, '');
      if (term.length < 2 || term.length > MAX_TERM_LENGTH || STOP_WORDS.has(term)) continue;
    } else if (term.length > MAX_TERM_LENGTH) continue;
    // At most MAX_TERMS_PER_POST: scanning them is cheaper than a Set per post.
    if (terms.includes(term)) continue;
    terms.push(term);
    if (terms.length >= MAX_TERMS_PER_POST) break;
  }
  return terms;
}

/** A topic's tag term; the same few topics come with every post, so each string is built once (within a bound). */
function tagOf(topic: string): string {
  let tag = tags.get(topic);
  if (tag === undefined) {
    tag = `#${topic}`.slice(0, MAX_TERM_LENGTH);
    if (tags.size >= TAG_CACHE) tags.clear();
    tags.set(topic, tag);
  }
  return tag;
}
const TAG_CACHE = 10_000;
const tags = new Map<string, string>();

/** The tags that co-occur with `topic` on this post: its other watched topics (none for "all": every post has them). */
export function tagTerms(post: Pick<ScoredPost, 'topics'>, topic: string): string[] {
  const tags: string[] = [];
  for (const other of post.topics) {
    if (other === topic) continue;
    const tag = tagOf(other);
    if (!tags.includes(tag)) tags.push(tag);
    if (tags.length >= MAX_TAGS_PER_POST) break;
  }
  return tags;
}

/**
 * Splits `total` integer units over `k` shares exactly: ⌊total/k⌋ each and one more for the first total mod k.
 * Integer masses make the tables' sums exact and order-independent, like the buckets' micro-unit sums.
 */
export function splitUnits(total: number, k: number, index: number): number {
  const base = Math.floor(total / k);
  return base + (index < total - base * k ? 1 : 0);
}

/** Width of a term's mass vector: the post weight, then the weight times each emotion's probability. */
export const MASS_WIDTH = 1 + EMOTION_COUNT;

/**
 * What one post adds to each of its terms: [weight, weight·p_0 … weight·p_5] in micro-units, the post's weight MICRO
 * and its micro-probabilities split evenly over its terms. With no terms it all goes to the "other" entry.
 */
export function termMasses(micro: readonly number[], termCount: number, index: number): number[] {
  const k = Math.max(1, termCount);
  const mass = [splitUnits(MICRO, k, index)];
  for (let e = 0; e < EMOTION_COUNT; e++) mass.push(splitUnits(micro[e] ?? 0, k, index));
  return mass;
}

/**
 * A term's fixed priority in a full table: the table keeps the terms of lowest priority (a bottom-k sample over
 * distinct terms), which is the same set whatever order posts arrive in. 48 bits of two FNV-1a hashes over the
 * UTF-8 bytes: exact in a double, so Lua compares the same numbers.
 */
export function termPriority(term: string): number {
  const cached = priorities.get(term);
  if (cached !== undefined) return cached;
  const bytes = encoder.encode(term);
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (const byte of bytes) {
    a = Math.imul(a ^ byte, 0x01000193) >>> 0;
    b = Math.imul(b ^ byte, 0x01000193) >>> 0;
  }
  const priority = a * 65_536 + (b >>> 16);
  // Everyday words recur in every batch: remember them, within a bound.
  if (priorities.size >= PRIORITY_CACHE) priorities.clear();
  priorities.set(term, priority);
  return priority;
}

const encoder = new TextEncoder();
const PRIORITY_CACHE = 100_000;
const priorities = new Map<string, number>();
