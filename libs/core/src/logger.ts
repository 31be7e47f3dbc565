import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Secrets are redacted by path, and also scrubbed from any
 * URL that appears in a message (Tumblr puts the api_key in the query string).
 */
export function createLogger(name: string, options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env['LOG_LEVEL'] ?? 'info';
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['apiKey', 'api_key', '*.apiKey', '*.api_key', 'config.TUMBLR_API_KEY', 'TUMBLR_API_KEY', '*.TUMBLR_API_KEY'],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method) {
          // Deep: a URL with the key can hide in an object field or an error message, not only in the text.
          const scrubbed = args.map((arg) => scrubValue(arg, 0)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    options.destination ?? process.stdout,
  );
}

const SECRET_QUERY_PARAM = /([?&](?:api_key|apikey|key|token|oauth_token)=)[^&\s"']+/gi;

export function scrubSecrets(text: string): string {
  return text.replace(SECRET_QUERY_PARAM, '$1[redacted]');
}

const MAX_SCRUB_DEPTH = 6;

/** Copies `value` with secrets scrubbed from every string inside it; leaves other values as they are. */
function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubSecrets(value);
  if (typeof value !== 'object' || value === null || depth >= MAX_SCRUB_DEPTH) return value;
  if (value instanceof Error) {
    // Keep it an Error (same prototype) so pino's error serializer still formats it.
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
    for (const key of Object.getOwnPropertyNames(value)) {
      (copy as unknown as Record<string, unknown>)[key] = scrubValue((value as unknown as Record<string, unknown>)[key], depth + 1);
    }
    return copy;
  }
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = scrubValue(item, depth + 1);
  return copy;
}
