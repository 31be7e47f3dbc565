import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { MoodstreamError, type Logger } from '@moodstream/core';
import { describeZodError } from '@moodstream/events';
import {
  AlertsQuerySchema,
  ExamplePostsQuerySchema,
  ReplayRequestSchema,
  SeriesQuerySchema,
  type ApiError,
} from './api-types';
import type { TrendsService } from './service';

/** Request bodies are tiny JSON objects; anything bigger is refused before it is buffered. */
export const MAX_BODY_BYTES = 16 * 1024;

class HttpError extends MoodstreamError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(json);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  const body: ApiError = { error: { code, message } };
  send(res, status, body);
}

function parse<S extends z.ZodTypeAny>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new HttpError(400, 'BAD_REQUEST', `invalid ${what}: ${describeZodError(result.error)}`);
  return result.data;
}

/** Query string as an object; a repeated key is a client error rather than a silent pick. */
function queryObject(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key in out) throw new HttpError(400, 'BAD_REQUEST', `query parameter "${key}" given more than once`);
    out[key] = value;
  }
  return out;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, 'BODY_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'BODY_TOO_LARGE', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  const type = String(req.headers['content-type'] ?? 'application/json');
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'request body is not valid JSON');
  }
}

function requireMethod(req: IncomingMessage, method: 'GET' | 'POST'): void {
  if (req.method !== method) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${method}`);
}

function found<T>(value: T | null, what: string, id: string): T {
  if (value === null) throw new HttpError(404, 'NOT_FOUND', `no ${what} with id "${id}"`);
  return value;
}

/**
 * Answers everything under /api/ for the dashboard's custom server; resolves false for other paths
 * so the caller can fall through to Next.js. Lists come wrapped (`{ topics }`, `{ alerts }`, `{ posts }`,
 * `{ replays }`), single resources bare (SeriesResponse, Alert, ReplayStatus); errors are `ApiError`.
 */
export function createTrendsHttpHandler(service: TrendsService, options: { logger?: Logger } = {}): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api' && !url.pathname.startsWith('/api/')) return false;
    const parts = url.pathname.split('/').slice(2).map((p) => decodeURIComponent(p));
    try {
      const [resource, id, action, ...rest] = parts;
      if (rest.length > 0) throw new HttpError(404, 'NOT_FOUND', `no route ${url.pathname}`);
      if (resource === 'topics' && id === undefined) {
        requireMethod(req, 'GET');
        send(res, 200, { topics: await service.topics() });
      } else if (resource === 'series' && id === undefined) {
        requireMethod(req, 'GET');
        send(res, 200, await service.series(parse(SeriesQuerySchema, queryObject(url), 'series query')));
      } else if (resource === 'alerts' && id === undefined) {
        requireMethod(req, 'GET');
        send(res, 200, { alerts: await service.alerts(parse(AlertsQuerySchema, queryObject(url), 'alerts query')) });
      } else if (resource === 'alerts' && id !== undefined && action === 'ack') {
        requireMethod(req, 'POST');
        send(res, 200, found(await service.acknowledgeAlert(id), 'alert', id));
      } else if (resource === 'posts' && id === undefined) {
        requireMethod(req, 'GET');
        send(res, 200, { posts: await service.examplePosts(parse(ExamplePostsQuerySchema, queryObject(url), 'posts query')) });
      } else if (resource === 'replays' && id === undefined) {
        if (req.method === 'GET') {
          send(res, 200, { replays: service.listReplays() });
        } else {
          requireMethod(req, 'POST');
          const request = parse(ReplayRequestSchema, await readJson(req), 'replay request');
          send(res, 201, service.startReplay(request));
        }
      } else if (resource === 'replays' && id !== undefined && action === undefined) {
        requireMethod(req, 'GET');
        send(res, 200, found(service.replayStatus(id), 'replay', id));
      } else if (resource === 'replays' && id !== undefined && (action === 'pause' || action === 'resume' || action === 'stop')) {
        requireMethod(req, 'POST');
        const status = action === 'pause' ? service.pauseReplay(id) : action === 'resume' ? service.resumeReplay(id) : service.stopReplay(id);
        send(res, 200, found(status, 'replay', id));
      } else {
        throw new HttpError(404, 'NOT_FOUND', `no route ${req.method ?? 'GET'} ${url.pathname}`);
      }
    } catch (error) {
      if (error instanceof HttpError) {
        sendError(res, error.status, error.code, error.message);
      } else if (error instanceof MoodstreamError && !error.retriable && (error.code === 'BAD_REQUEST' || error.code.startsWith('TRENDS_REPLAY') || error.code === 'RESCORE_UNAVAILABLE')) {
        sendError(res, 400, error.code, error.message);
      } else if (error instanceof MoodstreamError && error.code === 'NOT_FOUND') {
        sendError(res, 404, error.code, error.message);
      } else {
        options.logger?.error({ err: error, path: url.pathname }, 'trends API request failed');
        if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'the trends service failed to answer; see the server log');
      }
    }
    return true;
  };
}
