import { seededRandom as mulberry32 } from '@moodstream/trends';

/**
 * Seeded draws for the demo builder (the committed stream must be rebuildable byte for byte):
 * libs/trends' mulberry32 generator with the integer and pick helpers the builder needs.
 */
export interface SeededRandom {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

export function seededRandom(seed: number): SeededRandom {
  const next = mulberry32(seed);
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('cannot pick from an empty list');
      return items[int(items.length)] as T;
    },
  };
}
