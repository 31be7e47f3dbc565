/**
 * One base class for every error moodstream raises on purpose.
 * `retriable` tells callers whether trying again can help (a broker hiccup)
 * or cannot (a bad API key, a malformed record) — only retriable ones are retried.
 */
export class MoodstreamError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

export class ConfigError extends MoodstreamError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, { retriable: false });
  }
}

export class ValidationError extends MoodstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('VALIDATION_FAILED', message, { retriable: false, ...options });
  }
}

export function isRetriable(error: unknown): boolean {
  if (error instanceof MoodstreamError) return error.retriable;
  // kafkajs and ioredis mark transient failures with these fields.
  if (typeof error === 'object' && error !== null && 'retriable' in error) {
    return Boolean((error as { retriable: unknown }).retriable);
  }
  return false;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
