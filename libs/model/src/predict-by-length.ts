import type { PredictInput } from './emotion-model';

/**
 * Below this many rows per pass the fixed cost of a pass outweighs the padding saved. ONNX Runtime, the default
 * network runtime, packs several posts per LSTM row (onnx/pack-rows.ts), so it has no padding to sort away and a
 * split only adds a pass (a batch of 32 bench texts cost ×1.2–1.4 more CPU in two passes of 16 than in one, the
 * network alone); tfjs gained 3 % at 32 (2,356 against 2,431 µs a post, within the noise). Hence one pass below
 * 64 rows: the scorer's batches (SCORER_BATCH_SIZE, 32) always. docs/benchmarks.md, "Text path cost (session 11)".
 */
const MIN_ROWS_PER_PASS = 32;
const MAX_PASSES = 4;

/**
 * Scores a batch in a few passes of similar text lengths. tfjs's LSTM runs every row for as many steps
 * as the longest text in its pass, so one long caption would make 63 short posts pay for 50 steps;
 * sorted passes cut that padding (measured 20–40% faster at batch 64, see docs/benchmarks.md).
 * Rows do not depend on their batch-mates (padding is masked), so results are the same.
 */
export async function predictByLength<T>(model: { predict(inputs: readonly PredictInput[]): Promise<T[]> }, inputs: readonly PredictInput[]): Promise<T[]> {
  const passes = Math.min(MAX_PASSES, Math.floor(inputs.length / MIN_ROWS_PER_PASS));
  if (passes <= 1) return model.predict(inputs);
  // Characters stand in for tokens: the model tokenises each text anyway, and doing it here too cost ~12 us a post
  // (~5 % of a worker's CPU per text post); the order only groups rows, it never changes a result.
  const lengths = inputs.map((input) => input.text.length);
  const order = inputs.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]!);
  const perPass = Math.ceil(inputs.length / passes);
  const predictions = new Array<T>(inputs.length);
  for (let start = 0; start < order.length; start += perPass) {
    const positions = order.slice(start, start + perPass);
    const results = await model.predict(positions.map((p) => inputs[p]!));
    positions.forEach((position, k) => (predictions[position] = results[k]!));
  }
  return predictions;
}
