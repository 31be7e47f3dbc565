import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { Logger } from 'pino';
import { MoodstreamError } from '../errors';
import { sendError } from './respond';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path parameters, already percent-decoded. */
  params: Record<string, string>;
  url: URL;
}

export type RouteHandler = (context: RouteContext) => Promise<void> | void;

export interface Router {
  get(path: string, handler: RouteHandler): Router;
  post(path: string, handler: RouteHandler): Router;
  delete(path: string, handler: RouteHandler): Router;
  /**
   * Answers the request when a route matches it (errors answered with their code's status) and resolves true.
   * A path this router does not serve resolves false, so the caller can fall through (to Next.js, say) —
   * unless `owns` claims it, in which case it is answered 404, or 405 where another method would match.
   */
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

export interface RouterOptions {
  logger?: Logger | undefined;
  /** Paths this router answers even without a route (404/405 instead of falling through), e.g. `/api`. */
  owns?: (path: string) => boolean;
  /** Names what failed in a 500's log line. */
  what?: string;
  /** Headers on every answer of this router (error answers too). */
  headers?: Record<string, string>;
}

const METHODS: HTTPMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * The one HTTP router of the code base (find-my-way, fastify's router): the ops endpoint, the trends API and the
 * dashboard server all register their routes here, and all answer errors the same way (see `sendError`).
 */
export function createRouter(options: RouterOptions = {}): Router {
  const routes = FindMyWay({ ignoreTrailingSlash: true, caseSensitive: true });
  const owns = options.owns ?? (() => false);
  const answerError = (res: ServerResponse, error: unknown): void => {
    sendError(res, error, { logger: options.logger, what: options.what ?? 'request', ...(options.headers === undefined ? {} : { headers: options.headers }) });
  };
  const add = (method: HTTPMethod, path: string, handler: RouteHandler): void => {
    routes.on(method, path, () => undefined, { handler });
  };
  const router: Router = {
    get(path, handler) {
      add('GET', path, handler);
      return router;
    },
    post(path, handler) {
      add('POST', path, handler);
      return router;
    },
    delete(path, handler) {
      add('DELETE', path, handler);
      return router;
    },
    async handle(req, res) {
      let url: URL;
      let path: string;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
        path = url.pathname;
        // A malformed escape (e.g. /api/%E0%A4%A) is the caller's mistake, not a server failure.
        decodeURIComponent(path);
      } catch {
        answerError(res, new MoodstreamError('BAD_REQUEST', 'the request path is not valid percent-encoded UTF-8'));
        return true;
      }
      const method = (req.method ?? 'GET').toUpperCase() as HTTPMethod;
      const found = routes.find(method === 'HEAD' ? 'GET' : method, path);
      if (found === null) {
        const allowed = METHODS.filter((other) => other !== method && routes.find(other, path) !== null);
        if (allowed.length > 0) {
          answerError(res, new MoodstreamError('METHOD_NOT_ALLOWED', `${method} is not allowed here: use ${allowed.join(' or ')}`));
          return true;
        }
        if (!owns(path)) return false;
        answerError(res, new MoodstreamError('NOT_FOUND', `no route ${method} ${path}`));
        return true;
      }
      const { handler } = found.store as { handler: RouteHandler };
      try {
        await handler({ req, res, params: found.params as Record<string, string>, url });
      } catch (error) {
        answerError(res, error);
      }
      return true;
    },
  };
  return router;
}
