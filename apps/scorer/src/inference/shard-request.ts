import type { InferenceRequest } from './inference-engine';

export interface Shard {
  request: InferenceRequest;
  /** Position in the original request of each of this shard's items. */
  itemPositions: number[];
  /** Position in the original request of each of this shard's pixels entries. */
  pixelPositions: number[];
  /** Estimated work, in text-only posts. */
  cost: number;
}

/** Running the backbone on one image costs about this many text-only posts (see docs/benchmarks.md). */
const EMBED_COST = 30;

/**
 * How many shards a batch is split into, given the work each thread has queued. A batch with images to embed is
 * split over every thread, as it always was: each image is ~30 text posts' work, and a whole batch of them on one
 * thread could leave the other idle at the end of a burst. Any other batch is split over the idle threads only (at
 * least one shard): splitting buys latency only while a thread would otherwise wait; once every thread has work
 * queued (a backlog), a whole batch to the least loaded thread costs half the hand-overs (each one a structured
 * clone and a thread wake-up on the main thread) and lets the scorer sort its texts by length over more rows
 * (fewer padded LSTM steps).
 */
export function shardCount(queuedCosts: readonly number[], embedsImages: boolean): number {
  if (embedsImages) return Math.max(1, queuedCosts.length);
  return Math.max(1, queuedCosts.filter((cost) => cost === 0).length);
}

/**
 * Splits a batch over `count` threads with about equal work. Items that share one image to embed stay
 * together, so no image goes through the backbone twice.
 */
export function shardRequest(request: InferenceRequest, count: number): Shard[] {
  const units: { items: number[]; pixels: number | null; cost: number }[] = [];
  const unitOfPixels = new Map<number, (typeof units)[number]>();
  request.items.forEach((item, position) => {
    if (item.image?.kind === 'pixels') {
      const existing = unitOfPixels.get(item.image.index);
      if (existing !== undefined) {
        existing.items.push(position);
        existing.cost += 1;
        return;
      }
      const unit = { items: [position], pixels: item.image.index, cost: EMBED_COST + 1 };
      unitOfPixels.set(item.image.index, unit);
      units.push(unit);
      return;
    }
    units.push({ items: [position], pixels: null, cost: 1 });
  });
  const loads = Array.from({ length: Math.max(1, count) }, () => ({ cost: 0, items: [] as number[], pixels: [] as number[] }));
  // Greedy longest-processing-time: biggest units first, each to the least loaded thread.
  for (const unit of [...units].sort((a, b) => b.cost - a.cost)) {
    const target = loads.reduce((best, load) => (load.cost < best.cost ? load : best));
    target.cost += unit.cost;
    target.items.push(...unit.items);
    if (unit.pixels !== null) target.pixels.push(unit.pixels);
  }
  return loads
    .filter((load) => load.items.length > 0)
    .map((load) => {
      const itemPositions = [...load.items].sort((a, b) => a - b);
      const pixelPositions = [...load.pixels].sort((a, b) => a - b);
      const localPixel = new Map(pixelPositions.map((original, local) => [original, local]));
      const items = itemPositions.map((position) => {
        const item = request.items[position]!;
        if (item.image?.kind !== 'pixels') return item;
        return { text: item.text, image: { kind: 'pixels' as const, index: localPixel.get(item.image.index)! } };
      });
      return { request: { items, pixels: pixelPositions.map((p) => request.pixels[p]!) }, itemPositions, pixelPositions, cost: load.cost };
    });
}
