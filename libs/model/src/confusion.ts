import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { EMOTION_COUNT, EMOTIONS } from '@moodstream/events';
import { ModelFormatError } from './errors';

export const CONFUSION_FILE = 'confusion.json';

export const ConfusionSchema = z.object({
  labels: z.array(z.string()).length(EMOTION_COUNT),
  /** rows = true class, columns = predicted class, counts on the dev split. */
  matrix: z.array(z.array(z.number().nonnegative()).length(EMOTION_COUNT)).length(EMOTION_COUNT),
  source: z.string(),
});
export type Confusion = z.infer<typeof ConfusionSchema>;

/** Reads a model folder's confusion.json (dev-split confusion counts, for adjusted classify-and-count). */
export async function loadConfusion(dir: string): Promise<Confusion> {
  const file = path.join(dir, CONFUSION_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ModelFormatError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const parsed = ConfusionSchema.safeParse(raw);
  if (!parsed.success) throw new ModelFormatError(`invalid ${file}: ${parsed.error.message}`);
  if (parsed.data.labels.join(',') !== EMOTIONS.join(',')) throw new ModelFormatError(`${file} labels are not in EMOTIONS order`);
  return parsed.data;
}
