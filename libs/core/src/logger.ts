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
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubSecrets(arg) : arg)) as Parameters<typeof method>;
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
