/**
 * Several posts in one LSTM row, one after another, a reset step between two: the fused graph's LSTM node then runs
 * about as many steps as the batch has tokens instead of (rows × the longest post). ONNX Runtime's LSTM computes
 * every row for as many steps as the longest row (its matrix products take the whole batch; only the gate updates
 * stop at a row's length), so one post per row paid for its padding: at the bench's lengths (4–40 words) half the
 * arithmetic of a batch of 32. The reset step (fused-graph.ts) brings the state back to exactly zero, the state a
 * post starts from alone, so a post's output does not depend on its row-mates.
 */
export interface PackedRows {
  /** LSTM batch rows. */
  rows: number;
  /** Steps of the longest row. */
  steps: number;
  /** [steps, rows] word ids, time-major; the reset id between two posts of a row, 0 (padding) after a row's end. */
  tokens: Int32Array;
  /** [rows] steps of each row (at least 1). */
  rowLengths: Int32Array;
  /**
   * [posts] where each post's output is in the LSTM's Y output viewed as [steps · directions · rows, H]: the forward
   * state after its last token. 0 (any valid place) for a post without tokens, which the graph zeroes.
   */
  last: BigInt64Array;
  /** [posts] bidirectional only: the backward direction's state after reading the post back to its first token. */
  first: BigInt64Array | null;
  /** [posts] each post's token count (0 allowed). */
  postSteps: Int32Array;
}

export interface PackOptions {
  /** The embedding row that resets the state (fused-graph.ts puts it after the vocabulary). */
  resetId: number;
  /** 1 forward, 2 bidirectional. */
  directions: 1 | 2;
  /** About how many posts share a row: rows = ceil(posts with tokens / postsPerRow). 1 is one post per row. */
  postsPerRow: number;
}

/**
 * Packs posts' word ids (masked words already left out) into rows: longest post first, each to the row with the
 * fewest steps so far, which keeps the rows about equally long.
 */
export function packRows(posts: readonly (readonly number[])[], options: PackOptions): PackedRows {
  if (!(options.postsPerRow >= 1)) throw new RangeError(`postsPerRow must be at least 1, got ${options.postsPerRow}`);
  const n = posts.length;
  const withTokens = posts.reduce((count, ids) => count + (ids.length > 0 ? 1 : 0), 0);
  const rows = Math.max(1, Math.ceil(withTokens / options.postsPerRow));
  const rowLengths = new Int32Array(rows);
  const members: number[][] = Array.from({ length: rows }, () => []);
  const order = posts.map((_, i) => i).filter((i) => posts[i]!.length > 0);
  order.sort((a, b) => posts[b]!.length - posts[a]!.length || a - b);
  for (const post of order) {
    let target = 0;
    for (let r = 1; r < rows; r++) if (rowLengths[r]! < rowLengths[target]!) target = r;
    // A reset step before every post but a row's first.
    rowLengths[target]! += (members[target]!.length > 0 ? 1 : 0) + posts[post]!.length;
    members[target]!.push(post);
  }
  // A batch without a single token still runs one step (the LSTM wants one); its posts are zeroed by the graph.
  for (let r = 0; r < rows; r++) if (rowLengths[r] === 0) rowLengths[r] = 1;
  const steps = Math.max(...rowLengths);
  const tokens = new Int32Array(steps * rows);
  const last = new BigInt64Array(n);
  const first = options.directions === 2 ? new BigInt64Array(n) : null;
  const postSteps = Int32Array.from(posts, (ids) => ids.length);
  const D = options.directions;
  members.forEach((inRow, r) => {
    let at = 0;
    inRow.forEach((post, k) => {
      if (k > 0) tokens[at++ * rows + r] = options.resetId;
      const ids = posts[post]!;
      if (first !== null) first[post] = BigInt((at * D + 1) * rows + r);
      for (const id of ids) tokens[at++ * rows + r] = id;
      last[post] = BigInt((at - 1) * D * rows + r);
    });
  });
  return { rows, steps, tokens, rowLengths, last, first, postSteps };
}
