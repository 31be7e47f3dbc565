import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ValidationError } from '@moodstream/core';
import { EMOTIONS, EMOTION_COUNT, describeZodError } from '@moodstream/events';

/** The model's validation confusion matrix as written by the model package (rows: true class, columns: predicted). */
export const ConfusionFileSchema = z.object({
  labels: z.array(z.string()).length(EMOTION_COUNT),
  matrix: z.array(z.array(z.number().nonnegative()).length(EMOTION_COUNT)).length(EMOTION_COUNT),
  source: z.string().optional(),
});
export type ConfusionFile = z.infer<typeof ConfusionFileSchema>;

/** Row-normalised: `rates[t][p]` = P(predicted p | true t), both in EMOTIONS order. */
export interface ConfusionMatrix {
  rates: number[][];
  source: string | null;
}

/** Validates a confusion file and reorders it into EMOTIONS order. */
export function confusionFromJson(json: unknown): ConfusionMatrix {
  const parsed = ConfusionFileSchema.safeParse(json);
  if (!parsed.success) throw new ValidationError(`invalid confusion matrix: ${describeZodError(parsed.error)}`);
  const { labels, matrix, source } = parsed.data;
  const order = EMOTIONS.map((emotion) => {
    const index = labels.indexOf(emotion);
    if (index < 0) throw new ValidationError(`invalid confusion matrix: labels lack "${emotion}" (got ${labels.join(', ')})`);
    return index;
  });
  const rates = order.map((row) => {
    const counts = order.map((col) => matrix[row]?.[col] ?? 0);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total <= 0) throw new ValidationError(`invalid confusion matrix: no validation examples of "${labels[row]}"`);
    return counts.map((c) => c / total);
  });
  return { rates, source: source ?? null };
}

export async function loadConfusion(path: string): Promise<ConfusionMatrix> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ValidationError(`cannot read confusion matrix ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return confusionFromJson(JSON.parse(text));
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(`confusion matrix ${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Adjusted classify-and-count: the predicted-class shares q satisfy q = Rᵀ π for the true shares π,
 * so solve Rᵀ π = q, clip negative shares to 0 and renormalise. Null when the matrix is singular
 * (the classifier cannot tell some classes apart, so no correction is possible).
 */
export function correctedShares(observed: number[], confusion: ConfusionMatrix): number[] | null {
  const n = observed.length;
  // Augmented matrix [Rᵀ | q].
  const a = Array.from({ length: n }, (_, row) => [...Array.from({ length: n }, (_, col) => confusion.rates[col]?.[row] ?? 0), observed[row] ?? 0]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) {
      if (Math.abs(a[row]![col]!) > Math.abs(a[pivot]![col]!)) pivot = row;
    }
    if (Math.abs(a[pivot]![col]!) < 1e-12) return null;
    [a[col], a[pivot]] = [a[pivot]!, a[col]!];
    const pivotRow = a[col]!;
    for (let row = 0; row < n; row++) {
      if (row === col) continue;
      const r = a[row]!;
      const factor = r[col]! / pivotRow[col]!;
      if (factor === 0) continue;
      for (let k = col; k <= n; k++) r[k] = r[k]! - factor * pivotRow[k]!;
    }
  }
  const solution = a.map((r, i) => Math.max(0, r[n]! / r[i]!));
  const total = solution.reduce((x, y) => x + y, 0);
  if (!(total > 0)) return null;
  return solution.map((x) => x / total);
}
