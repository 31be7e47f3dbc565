import { addMass, emptyMass, type TermTable, type WordShiftPost } from './word-shift';
import { MICRO } from './bucket';
import { MASS_WIDTH, termMasses, termPriority } from './word-shift-terms';

/**
 * A bucket's bounded term table and its one update rule, shared by the memory store and mirrored line for line by
 * the Redis store's Lua script.
 *
 * Bounded and order-independent: each term has a fixed priority (termPriority). Once a table would hold more than
 * `maxTerms` terms it keeps the lowest-priority ones, moves the others' mass to `other`, and remembers the lowest
 * priority it let go as its threshold; from then on a new term at or above the threshold goes straight to `other`.
 * The threshold only falls, so a term below the final threshold was never turned away or evicted: the table ends
 * up holding exactly the `maxTerms` lowest-priority distinct terms of all its posts, each with its exact mass,
 * whatever the order or batching of the posts; everything else is in `other`, so the sums still close.
 */

export interface Ranked {
  priority: number;
  term: string;
}

export interface MutableTable {
  terms: Map<string, { priority: number; mass: number[] }>;
  other: number[];
  /** The lowest priority the table has let go; null while it has never been full. */
  threshold: Ranked | null;
}

export const emptyTable = (): MutableTable => ({ terms: new Map(), other: emptyMass(), threshold: null });

/** (priority, term) order; the term breaks the (48-bit) priority ties. */
export function rankBelow(a: Ranked, b: Ranked): boolean {
  return a.priority < b.priority || (a.priority === b.priority && a.term < b.term);
}

/** One batch's mass per term, for one topic's bucket: the delta a store adds to each of that bucket's tables. */
export interface TableDelta {
  terms: Map<string, { priority: number; mass: number[] }>;
  /** Posts with no term at all. */
  other: number[];
}

export function deltaOf(posts: readonly WordShiftPost[]): TableDelta {
  const delta: TableDelta = { terms: new Map(), other: emptyMass() };
  // Per post, each component's split over its k terms (splitUnits: ⌊total/k⌋ each, one more for the first total mod k
  // terms) worked out once, not once per term: this runs for every term of every post.
  const base = emptyMass();
  const extra = emptyMass();
  for (const post of posts) {
    const k = post.terms.length;
    if (k === 0) {
      addMass(delta.other, termMasses(post.micro, 0, 0));
      continue;
    }
    for (let e = 0; e < MASS_WIDTH; e++) {
      const total = e === 0 ? MICRO : (post.micro[e - 1] ?? 0);
      const each = Math.floor(total / k);
      base[e] = each;
      extra[e] = total - each * k;
    }
    for (let index = 0; index < k; index++) {
      const term = post.terms[index]!;
      let entry = delta.terms.get(term);
      if (entry === undefined) {
        entry = { priority: termPriority(term), mass: emptyMass() };
        delta.terms.set(term, entry);
      }
      const mass = entry.mass;
      for (let e = 0; e < MASS_WIDTH; e++) mass[e] = mass[e]! + base[e]! + (index < extra[e]! ? 1 : 0);
    }
  }
  return delta;
}

export function applyDelta(table: MutableTable, delta: TableDelta, maxTerms: number): void {
  for (const [term, { priority, mass }] of delta.terms) {
    const entry = table.terms.get(term);
    if (entry !== undefined) addMass(entry.mass, mass);
    else if (table.threshold === null || rankBelow({ priority, term }, table.threshold)) table.terms.set(term, { priority, mass: [...mass] });
    else addMass(table.other, mass);
  }
  addMass(table.other, delta.other);
  if (table.terms.size <= maxTerms) return;
  const ranked = [...table.terms.entries()].map(([term, entry]) => ({ term, priority: entry.priority }));
  ranked.sort((a, b) => (rankBelow(a, b) ? -1 : rankBelow(b, a) ? 1 : 0));
  for (let i = maxTerms; i < ranked.length; i++) {
    const { term } = ranked[i]!;
    addMass(table.other, table.terms.get(term)!.mass);
    table.terms.delete(term);
  }
  table.threshold = ranked[maxTerms]!;
}

export function readTable(table: MutableTable): TermTable {
  const terms = new Map<string, number[]>();
  for (const [term, entry] of table.terms) terms.set(term, [...entry.mass]);
  return { terms, other: [...table.other], complete: table.threshold === null };
}
