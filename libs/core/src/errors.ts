import { ERROR_CODES, isErrorCode, type ErrorCode } from './error-codes';

/**
 * One base class for every error moodstream raises on purpose. The code comes from the closed list in
 * `error-codes.ts`, which also decides `retriable` (only retriable errors are retried) and `status`
 * (the HTTP status an API answers it with).
 */
export class MoodstreamError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }

  get retriable(): boolean {
    return ERROR_CODES[this.code].retriable;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export class ConfigError extends MoodstreamError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

export class ValidationError extends MoodstreamError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('VALIDATION_FAILED', message, options);
  }
}

/** Work given up because its AbortSignal fired; carries the signal's reason as its cause. */
export class AbortedError extends MoodstreamError {
  constructor(message = 'aborted', options: { cause?: unknown } = {}) {
    super('ABORTED', message, options);
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

/** The code an error is answered with: its own when raised on purpose, INTERNAL otherwise. */
export function errorCode(error: unknown): ErrorCode {
  if (error instanceof MoodstreamError) return error.code;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return isErrorCode(code) ? code : 'INTERNAL';
}

/** The HTTP status an error maps to, from the closed list (500 for anything not raised on purpose). */
export function httpStatusOf(error: unknown): number {
  return ERROR_CODES[errorCode(error)].status;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
