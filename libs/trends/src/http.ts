import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRouter, DEFAULT_MAX_BODY_BYTES, MoodstreamError, parseInput, queryObject, readJsonBody, sendJson, type Logger, type Router } from '@moodstream/core';
import { ModelVersionsQuerySchema, WordShiftQuerySchema } from '@moodstream/events';
import { AlertsQuerySchema, ExamplePostsQuerySchema, ReplayRequestSchema, SeriesQuerySchema } from './api-types';
import type { TrendsService } from './service';

/** Request bodies are tiny JSON objects; anything bigger is refused before it is buffered. */
export const MAX_BODY_BYTES = DEFAULT_MAX_BODY_BYTES;

/** Everything under /api is the trends API's: an unknown /api path is its 404, not the next handler's. */
const isApiPath = (path: string): boolean => path === '/api' || path.startsWith('/api/');

function found<T>(value: T | null, what: string, id: string): T {
  if (value === null) throw new MoodstreamError('NOT_FOUND', `no ${what} with id "${id}"`);
  return value;
}

/**
 * The trends API on the core router, for the dashboard's server to mount. Lists come wrapped (`{ topics }`,
 * `{ alerts }`, `{ posts }`, `{ replays }`), single resources bare (SeriesResponse, Alert, ReplayStatus); errors are
 * `{ error: { code, message } }` with the status of their code (see ERROR_CODES in libs/core).
 */
export interface TrendsHttpOptions {
  logger?: Logger | undefined;
  /** Replays running or paused at once on this instance; one more is refused with 429 TOO_MANY_REQUESTS (default: no limit). */
  maxConcurrentReplays?: number | undefined;
  /** The same across every instance sharing the replay registry (default: no limit). */
  maxConcurrentReplaysTotal?: number | undefined;
}

export function createTrendsRouter(service: TrendsService, options: TrendsHttpOptions = {}): Router {
  const limits = { perInstance: options.maxConcurrentReplays ?? Infinity, total: options.maxConcurrentReplaysTotal ?? Infinity };
  const router = createRouter({ logger: options.logger, owns: isApiPath, what: 'trends API request' })
    .get('/api/topics', async ({ res }) => sendJson(res, 200, { topics: await service.topics() }))
    .get('/api/series', async ({ res, url }) => sendJson(res, 200, await service.series(parseInput(SeriesQuerySchema, queryObject(url.searchParams), 'series query'))))
    .get('/api/alerts', async ({ res, url }) => {
      sendJson(res, 200, { alerts: await service.alerts(parseInput(AlertsQuerySchema, queryObject(url.searchParams), 'alerts query')) });
    })
    .post('/api/alerts/:id/ack', async ({ res, params }) => sendJson(res, 200, found(await service.acknowledgeAlert(params['id']!), 'alert', params['id']!)))
    .get('/api/posts', async ({ res, url }) => {
      sendJson(res, 200, { posts: await service.examplePosts(parseInput(ExamplePostsQuerySchema, queryObject(url.searchParams), 'posts query')) });
    })
    .get('/api/word-shift', async ({ res, url }) => sendJson(res, 200, await service.wordShift(parseInput(WordShiftQuerySchema, queryObject(url.searchParams), 'word-shift query'))))
    .get('/api/model-versions', async ({ res, url }) => {
      sendJson(res, 200, { changes: await service.modelVersions(parseInput(ModelVersionsQuerySchema, queryObject(url.searchParams), 'model-versions query')) });
    })
    .get('/api/replays', async ({ res }) => sendJson(res, 200, { replays: await service.listReplays() }))
    .post('/api/replays', async ({ req, res }) => {
      const request = parseInput(ReplayRequestSchema, await readJsonBody(req, MAX_BODY_BYTES), 'replay request');
      // The registry counts and claims in one step (429 TOO_MANY_REQUESTS over a limit), so concurrent requests —
      // to this instance or another — cannot both take the last place.
      sendJson(res, 201, await service.startReplay(request, { limits }));
    })
    .get('/api/replays/:id', async ({ res, params }) => sendJson(res, 200, found(await service.replayStatus(params['id']!), 'replay', params['id']!)));
  const controls: Record<'pause' | 'resume' | 'stop', (id: string) => ReturnType<TrendsService['replayStatus']>> = {
    pause: (id) => service.pauseReplay(id),
    resume: (id) => service.resumeReplay(id),
    stop: (id) => service.stopReplay(id),
  };
  for (const [action, control] of Object.entries(controls)) {
    router.post(`/api/replays/:id/${action}`, async ({ res, params }) => sendJson(res, 200, found(await control(params['id']!), 'replay', params['id']!)));
  }
  return router;
}

/**
 * The same API as a plain handler: answers everything under /api and resolves true; resolves false for other
 * paths so the caller can fall through (to Next.js).
 */
export function createTrendsHttpHandler(service: TrendsService, options: TrendsHttpOptions = {}): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const router = createTrendsRouter(service, options);
  return (req, res) => router.handle(req, res);
}
