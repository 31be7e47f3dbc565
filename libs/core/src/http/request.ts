import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { describeZodError } from '@moodstream/events';
import { MoodstreamError } from '../errors';

/** Request bodies are small JSON objects; anything bigger is refused before it is buffered. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

/** Parses `input` against `schema`; a mismatch is the caller's error (400) naming every bad field. */
export function parseInput<S extends z.ZodTypeAny>(schema: S, input: unknown, what: string): z.infer<S> {
  let result: z.SafeParseReturnType<unknown, z.infer<S>>;
  try {
    result = schema.safeParse(input);
  } catch (error) {
    // safeParse throws when a coercion does: Number({ toString: "" }) is a TypeError. Still the caller's input.
    throw new MoodstreamError('BAD_REQUEST', `invalid ${what}: a value could not be read (${error instanceof Error ? error.message : String(error)})`.slice(0, 300));
  }
  if (!result.success) throw new MoodstreamError('BAD_REQUEST', `invalid ${what}: ${describeZodError(result.error)}`);
  return result.data as z.infer<S>;
}

/** Query string as an object; a repeated key is a client error rather than a silent pick. */
export function queryObject(searchParams: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of searchParams) {
    if (Object.hasOwn(out, key)) throw new MoodstreamError('BAD_REQUEST', `query parameter "${key}" given more than once`);
    out[key] = value;
  }
  return out;
}

/** Reads a JSON body with a byte cap checked both on the declared length and while streaming. */
export async function readJsonBody(req: IncomingMessage, maxBytes = DEFAULT_MAX_BODY_BYTES): Promise<unknown> {
  const tooLarge = (): MoodstreamError => new MoodstreamError('BODY_TOO_LARGE', `request body over ${maxBytes} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  const type = String(req.headers['content-type'] ?? 'application/json');
  if (!/^application\/json\b/i.test(type)) throw new MoodstreamError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new MoodstreamError('BAD_REQUEST', 'request body is not valid JSON');
  }
}
