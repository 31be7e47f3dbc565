import type { z } from 'zod';
import { ConfigError } from './errors';

/**
 * Parses an environment (or any string map) against an app's zod schema at boot.
 * Fails with one readable message naming every bad variable, so a person can fix them all at once.
 */
export function parseConfig<S extends z.ZodTypeAny>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
  appName = 'moodstream',
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(root)';
    return `  - ${key}: ${issue.message}`;
  });
  throw new ConfigError(`${appName}: invalid configuration\n${lines.join('\n')}`);
}

/** Turns "a, b ,c" into ["a","b","c"]; empty input gives an empty list. */
export function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}
