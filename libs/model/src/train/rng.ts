import { fnv1a32, gaussian, seededRandom } from '@moodstream/core';

export { gaussian };

/** A seed fixes shuffles, splits, dropout masks and pairings. */
export const makeRng: (seed: number) => () => number = seededRandom;

export function shuffleInPlace<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Stable seeds per token. */
export const hashString: (s: string) => number = fnv1a32;
