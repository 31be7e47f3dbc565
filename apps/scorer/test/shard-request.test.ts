import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shardCount, shardRequest } from '../src/inference/shard-request';
import type { InferenceItem, InferenceRequest } from '../src/inference/inference-engine';

const text = (t: string): InferenceItem => ({ text: t, image: null });
const withPixels = (t: string, index: number): InferenceItem => ({ text: t, image: { kind: 'pixels', index } });

test('splits images evenly, keeps posts sharing an image together, and maps every item back', () => {
  const pixels = [new Uint8Array([0]), new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])];
  const request: InferenceRequest = {
    items: [withPixels('a', 0), text('b'), withPixels('c', 1), withPixels('d', 0), withPixels('e', 2), withPixels('f', 3), text('g')],
    pixels,
  };
  const shards = shardRequest(request, 2);
  assert.equal(shards.length, 2);
  assert.deepEqual(
    shards.map((s) => s.request.pixels.length),
    [2, 2],
  );
  const seen = shards.flatMap((s) => s.itemPositions).sort((a, b) => a - b);
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6]);
  for (const shard of shards) {
    shard.request.items.forEach((item, local) => {
      const original = request.items[shard.itemPositions[local]!]!;
      assert.equal(item.text, original.text);
      if (item.image?.kind === 'pixels' && original.image?.kind === 'pixels') {
        // The local pixels entry is the same array as the original one.
        assert.equal(shard.request.pixels[item.image.index], pixels[original.image.index]);
      }
    });
  }
  const holderOfImage0 = shards.filter((s) => s.pixelPositions.includes(0));
  assert.equal(holderOfImage0.length, 1);
  assert.ok(['a', 'd'].every((t) => holderOfImage0[0]!.request.items.some((i) => i.text === t)));
});

test('text-only batches split by count; a single thread gets everything; tiny batches use fewer threads', () => {
  const request: InferenceRequest = { items: Array.from({ length: 9 }, (_, i) => text(String(i))), pixels: [] };
  assert.deepEqual(
    shardRequest(request, 2).map((s) => s.request.items.length),
    [5, 4],
  );
  assert.equal(shardRequest(request, 1)[0]?.request.items.length, 9);
  assert.equal(shardRequest({ items: [text('x')], pixels: [] }, 4).length, 1);
});

test('a text batch is split over the idle threads only (whole to one when all are busy); one with images over all', () => {
  assert.equal(shardCount([0, 0], false), 2);
  assert.equal(shardCount([0, 0, 0, 0], false), 4);
  assert.equal(shardCount([0, 32], false), 1);
  assert.equal(shardCount([16, 0, 0], false), 2);
  assert.equal(shardCount([16, 32], false), 1);
  assert.equal(shardCount([], false), 1);
  assert.equal(shardCount([16, 32], true), 2);
  assert.equal(shardCount([0, 0, 5], true), 3);
});
