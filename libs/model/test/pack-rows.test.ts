import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packRows } from '../src/onnx/pack-rows';

/** The ids of row r, step by step, up to its length (tokens are time-major [steps, rows]). */
function row(packed: ReturnType<typeof packRows>, r: number): number[] {
  return Array.from({ length: packed.rowLengths[r]! }, (_, t) => packed.tokens[t * packed.rows + r]!);
}

const RESET = 99;

test('posts share rows, longest first to the shortest row, a reset step between two posts of a row', () => {
  const posts = [[1, 2], [3, 4, 5, 6, 7], [8], [9, 10, 11]];
  const packed = packRows(posts, { resetId: RESET, directions: 1, postsPerRow: 2 });
  assert.equal(packed.rows, 2);
  // 5 tokens to row 0, 3 to row 1, then 2 to row 1 (3 < 5), then 1 to row 0 (5 < 6): 5+1+1 and 3+1+2.
  assert.deepEqual(row(packed, 0), [3, 4, 5, 6, 7, RESET, 8]);
  assert.deepEqual(row(packed, 1), [9, 10, 11, RESET, 1, 2]);
  assert.equal(packed.steps, 7);
  // Padding after the shorter row's end is word 0.
  assert.equal(packed.tokens[6 * 2 + 1], 0);
  assert.deepEqual([...packed.postSteps], [2, 5, 1, 3]);
  // Forward output of a post: its last token's step, flattened as (step · rows + row).
  assert.deepEqual([...packed.last].map(Number), [5 * 2 + 1, 4 * 2 + 0, 6 * 2 + 0, 2 * 2 + 1]);
  assert.equal(packed.first, null);
});

test('bidirectional: the forward output at the last token, the backward one at the first (Y is [steps, 2, rows, H])', () => {
  const packed = packRows([[1, 2, 3], [4, 5]], { resetId: RESET, directions: 2, postsPerRow: 2 });
  assert.equal(packed.rows, 1);
  assert.deepEqual(row(packed, 0), [1, 2, 3, RESET, 4, 5]);
  assert.deepEqual([...packed.last].map(Number), [(2 * 2 + 0) * 1, (5 * 2 + 0) * 1]);
  assert.deepEqual([...packed.first!].map(Number), [(0 * 2 + 1) * 1, (4 * 2 + 1) * 1]);
});

test('one post per row is the plain layout; posts without tokens take no row and point at a valid output', () => {
  const packed = packRows([[], [1, 2, 3], [], [4]], { resetId: RESET, directions: 1, postsPerRow: 1 });
  assert.equal(packed.rows, 2);
  assert.deepEqual(row(packed, 0), [1, 2, 3]);
  assert.deepEqual(row(packed, 1), [4]);
  assert.deepEqual([...packed.postSteps], [0, 3, 0, 1]);
  assert.equal(Number(packed.last[0]), 0);
  assert.equal(Number(packed.last[2]), 0);
  assert.deepEqual([...packed.last].map(Number), [0, 2 * 2 + 0, 0, 0 * 2 + 1]);
});

test('a batch without a single token still gives the LSTM one step of one row', () => {
  const packed = packRows([[], []], { resetId: RESET, directions: 2, postsPerRow: 4 });
  assert.equal(packed.rows, 1);
  assert.equal(packed.steps, 1);
  assert.deepEqual([...packed.rowLengths], [1]);
  assert.deepEqual([...packed.tokens], [0]);
  assert.deepEqual([...packed.postSteps], [0, 0]);
});

test('postsPerRow below 1 is refused', () => {
  assert.throws(() => packRows([[1]], { resetId: RESET, directions: 1, postsPerRow: 0 }), /postsPerRow must be at least 1/);
});
