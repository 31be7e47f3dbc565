import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errorCode, errorMessage } from '../errors';
import { ERROR_CODES } from '../error-codes';

/** The body of every error answer: `{ error: { code, message } }`, the code from the closed list. */
export interface ErrorBody {
  error: { code: string; message: string };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(json);
}

/**
 * Answers an error with the status its code maps to. Errors raised on purpose say what went wrong; anything else
 * is a 500 whose details go to the log only (a stack trace is for the operator, not the caller).
 */
export function sendError(res: ServerResponse, error: unknown, options: { logger?: Logger | undefined; what?: string; headers?: Record<string, string> } = {}): void {
  const code = errorCode(error);
  const { status } = ERROR_CODES[code];
  if (code === 'INTERNAL') options.logger?.error({ err: error }, `${options.what ?? 'request'} failed`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const message = code === 'INTERNAL' ? `${options.what ?? 'the request'} failed; see the server log` : errorMessage(error);
  const body: ErrorBody = { error: { code, message } };
  sendJson(res, status, body, options.headers);
}
