import type { z } from 'zod';

/** Readable one-line summary of a zod failure: "path: message; path: message". */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 8)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
