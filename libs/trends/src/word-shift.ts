import { EMOTION_COUNT, type ScoredPost, type WordShiftTerm } from '@moodstream/events';
import { contributionOf, type Contribution } from './bucket';
import type { BucketRef, Retention } from './store';
import { bucketStart } from './windows';
import { MASS_WIDTH, tagTerms, termKind, textTerms } from './word-shift-terms';

/**
 * Word-shift bookkeeping: per (topic, bucket) a table of term → mass vector [weight, weight·p_0 … weight·p_5]
 * (integer micro-units, see termMasses), holding at most `maxTerms` distinct terms plus an "other" entry, so its
 * masses always sum to the bucket's own (posts × 10^6 and Σ p). See docs/word-shift.md.
 */

/** One bucket's term table as read back. */
export interface TermTable {
  /** term → [weight, weight·p_0 … weight·p_5], micro-units. */
  terms: Map<string, number[]>;
  /** Mass of the terms the table does not keep (and of posts without any term). */
  other: number[];
  /** False once the table has had to fold terms into `other`. */
  complete: boolean;
}

/** A post as the word-shift tables take it: its terms for one topic (text terms plus that topic's co-occurring tags). */
export interface WordShiftPost {
  postId: string;
  /** Probabilities in EMOTIONS order, micro-units (as the bucket sums). */
  micro: number[];
  terms: string[];
}

/** The posts of one topic in one 1-minute bucket; the store rolls them up into every size. */
export interface WordShiftGroup {
  topic: string;
  /** 1-minute bucket start, epoch ms. */
  start: number;
  posts: WordShiftPost[];
}

export interface WordShiftSettings {
  retention: Retention;
  /** Distinct terms kept per bucket (TRENDS_WORD_SHIFT_TERMS). */
  maxTerms: number;
}

/**
 * Where word-shift tables live, next to the TrendsStore of the same kind. `apply` is idempotent like the
 * aggregates: a post id is counted once per topic and 1-minute bucket (its own seen-set, deduplicated in the same
 * atomic step as the increments), so a redelivered batch changes nothing.
 */
export interface WordShiftStore {
  readonly kind: 'memory' | 'redis';
  apply(ns: string, groups: readonly WordShiftGroup[], settings: WordShiftSettings): Promise<void>;
  /** Tables in request order; null for an empty or expired bucket. */
  readTables(ns: string, refs: readonly BucketRef[]): Promise<(TermTable | null)[]>;
  dropNamespace(ns: string): Promise<void>;
}

export const emptyMass = (): number[] => new Array<number>(MASS_WIDTH).fill(0);

export function addMass(into: number[], from: readonly number[]): void {
  for (let i = 0; i < MASS_WIDTH; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

/**
 * Groups a batch by topic and 1-minute bucket, each post once (the same record twice in a batch is one post; the
 * store dedupes across batches), its text's terms computed once.
 */
export function planWordShift(posts: readonly ScoredPost[], topicsOf: (post: ScoredPost) => readonly string[], contributions?: readonly Contribution[]): WordShiftGroup[] {
  const byStart = new Map<number, Map<string, WordShiftGroup>>();
  const groups: WordShiftGroup[] = [];
  const ids = new Set<string>();
  for (let i = 0; i < posts.length; i++) {
    const post = posts[i]!;
    if (ids.has(post.postId)) continue;
    ids.add(post.postId);
    const words = textTerms(post.text);
    const micro = (contributions?.[i] ?? contributionOf(post)).micro;
    const start = bucketStart(post.timestamp, '1m');
    let byTopic = byStart.get(start);
    if (byTopic === undefined) {
      byTopic = new Map();
      byStart.set(start, byTopic);
    }
    const topics = topicsOf(post);
    for (let t = 0; t < topics.length; t++) {
      const topic = topics[t]!;
      if (topics.indexOf(topic) !== t) continue;
      let group = byTopic.get(topic);
      if (group === undefined) {
        group = { topic, start, posts: [] };
        byTopic.set(topic, group);
        groups.push(group);
      }
      // A post found under one topic has no co-occurring tag there: skip building an empty list.
      const alone = post.topics.length === 1 && post.topics[0] === topic;
      const tags = alone ? [] : tagTerms(post, topic);
      group.posts.push({ postId: post.postId, micro, terms: tags.length === 0 ? words : words.concat(tags) });
    }
  }
  return groups;
}

/** Several buckets' tables as one (the baseline pools the windows before the alert window). */
export function mergeTables(tables: readonly (TermTable | null)[]): TermTable {
  const merged: TermTable = { terms: new Map(), other: emptyMass(), complete: true };
  for (const table of tables) {
    if (table === null) continue;
    for (const [term, mass] of table.terms) {
      const into = merged.terms.get(term);
      if (into === undefined) merged.terms.set(term, [...mass]);
      else addMass(into, mass);
    }
    addMass(merged.other, table.other);
    if (!table.complete) merged.complete = false;
  }
  return merged;
}

function totals(table: TermTable): number[] {
  const sum = [...table.other];
  for (const mass of table.terms.values()) addMass(sum, mass);
  return sum;
}

/** The word shift's numbers, before the caller adds topic, window and baseline ranges. */
export interface ShiftResult {
  windowPosts: number;
  baselinePosts: number;
  windowShare: number;
  baselineShare: number;
  difference: number;
  terms: WordShiftTerm[];
  rest: number;
  complete: boolean;
}

/** Key of the "other" entry while computing: not a possible term (terms never hold control characters). */
const OTHER = '\u0001other';

/**
 * The generalised word shift of emotion `emotion` between `window` and `baseline` (docs/word-shift.md):
 * per term (p^W − p^B)(φ̄ − Φ^B) + p̄(φ^W − φ^B); the terms' contributions and `rest` sum to Φ^W − Φ^B.
 */
export function computeWordShift(window: TermTable, baseline: TermTable, emotion: number, limit: number): ShiftResult {
  if (emotion < 0 || emotion >= EMOTION_COUNT) throw new RangeError(`emotion index ${emotion} out of range`);
  const e = 1 + emotion;
  const totalW = totals(window);
  const totalB = totals(baseline);
  const massW = totalW[0] ?? 0;
  const massB = totalB[0] ?? 0;
  const shareW = massW > 0 ? (totalW[e] ?? 0) / massW : 0;
  const shareB = massB > 0 ? (totalB[e] ?? 0) / massB : 0;
  // The frequency part is measured against the baseline share, which only cancels out of the sum (Σ Δp = 0) when
  // both sides have posts; with one side empty the reference is 0, and the sum still closes.
  const reference = massW > 0 && massB > 0 ? shareB : 0;
  const entries = new Set<string>([...window.terms.keys(), ...baseline.terms.keys(), OTHER]);
  const massOf = (table: TermTable, term: string): number[] | undefined => (term === OTHER ? table.other : table.terms.get(term));
  const all: WordShiftTerm[] = [];
  let otherContribution = 0;
  for (const term of entries) {
    const w = massOf(window, term);
    const b = massOf(baseline, term);
    const mW = w?.[0] ?? 0;
    const mB = b?.[0] ?? 0;
    if (mW === 0 && mB === 0) continue;
    const pW = massW > 0 ? mW / massW : 0;
    const pB = massB > 0 ? mB / massB : 0;
    const phiW = mW > 0 ? (w?.[e] ?? 0) / mW : null;
    const phiB = mB > 0 ? (b?.[e] ?? 0) / mB : null;
    // A term absent on one side takes the other side's association there: its whole effect is then frequency.
    const aW = phiW ?? phiB ?? 0;
    const aB = phiB ?? phiW ?? 0;
    const frequencyPart = (pW - pB) * ((aW + aB) / 2 - reference);
    const associationPart = ((pW + pB) / 2) * (aW - aB);
    if (term === OTHER) {
      otherContribution = frequencyPart + associationPart;
      continue;
    }
    all.push({
      term,
      kind: termKind(term),
      contribution: frequencyPart + associationPart,
      frequencyPart,
      associationPart,
      windowWeight: clamp01(pW),
      baselineWeight: clamp01(pB),
      windowAssociation: phiW === null ? null : clamp01(phiW),
      baselineAssociation: phiB === null ? null : clamp01(phiB),
    });
  }
  all.sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
  const listed = all.slice(0, limit);
  let rest = otherContribution;
  for (let i = limit; i < all.length; i++) rest += all[i]!.contribution;
  return {
    windowPosts: Math.round(massW / 1_000_000),
    baselinePosts: Math.round(massB / 1_000_000),
    windowShare: clamp01(shareW),
    baselineShare: clamp01(shareB),
    difference: shareW - shareB,
    terms: listed,
    rest,
    complete: window.complete && baseline.complete,
  };
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
