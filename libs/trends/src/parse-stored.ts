import type { z } from 'zod';

/**
 * JSON values read back from Redis, each checked against its schema: a missing or unreadable one (written by a
 * newer version, or damaged) is skipped rather than failing the whole list.
 */
export function parseStored<S extends z.ZodTypeAny>(schema: S, raws: readonly (string | null)[]): z.output<S>[] {
  return raws.flatMap((raw) => {
    if (raw === null) return [];
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      return [];
    }
    const parsed = schema.safeParse(value);
    return parsed.success ? [parsed.data as z.output<S>] : [];
  });
}
