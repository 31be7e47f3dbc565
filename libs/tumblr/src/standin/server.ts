import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sleep } from '@moodstream/core';
import { imageFor } from './images';
import { INVALID_UTF8_MARKER, type RawTumblrPost } from './fixtures';
import { legacyRendering } from './npf-fixtures';

/**
 * A local stand-in for the Tumblr API v2 `/v2/tagged` endpoint and an image host, for tests and for
 * development without a key. It answers with the documented `meta`/`response` envelope, `before`
 * pagination (strictly older than `before`, newest first, 1–20 per page) and the rate-limit headers
 * Tumblr sends, and it can be scripted to misbehave. See README.md beside this file.
 */

export type FaultKind = 'rate-limit' | 'server-error' | 'slow' | 'malformed' | 'envelope-status';
export type Malformation = 'truncated-json' | 'html' | 'no-envelope' | 'wrong-types' | 'huge-body';

export interface ScriptedFault {
  kind: FaultKind;
  /** 1-based number of the `/v2/tagged` request (valid key or not) the fault starts at. */
  fromRequest?: number;
  /** How many consecutive requests it affects (default 1). */
  count?: number;
  /** Alternatively: every request during this many ms from when the fault was injected. */
  forMs?: number;
  /** rate-limit: the Retry-After header in seconds; null omits the header. Default 1. */
  retryAfterSeconds?: number | null;
  /**
   * rate-limit: the window the answer's `X-Ratelimit-*` headers show spent (remaining 0, resetting in
   * `resetSeconds`), as Tumblr reports a key's exhausted hour or day.
   */
  exhausted?: 'hour' | 'day';
  resetSeconds?: number;
  /** envelope-status: the HTTP status on the answer line (default 401), while the envelope's `meta.status` says `metaStatus` (default 429). */
  metaStatus?: number;
  /** server-error: the status (default 503). */
  status?: number;
  /** slow: how long to wait before answering (default 2000 ms). */
  delayMs?: number;
  malformation?: Malformation;
}

export interface StandInBehaviours {
  /** The key that is accepted; any other gets 401. Default "standin-key". */
  apiKey?: string;
  /** Enforced like the real API (429 once exhausted). Defaults: 1,000/hour and 5,000/day per key, 300/minute per IP. */
  limits?: { perHour?: number; perDay?: number; perMinute?: number };
  faults?: ScriptedFault[];
  /** Added to every API answer. */
  latencyMs?: number;
  /**
   * Featured tags: as the `/tagged` documentation describes, their posts come ordered by `featured_timestamp`
   * and `before` compares with it; only posts that carry one are listed.
   */
  featuredTags?: string[];
  /** Tags Tumblr refuses, with the status it answers (404: `{ meta: { status: 404, msg: "Not Found" } }`). */
  refusedTags?: Record<string, number>;
}

export interface RequestLogEntry {
  at: number;
  n: number;
  tag: string | null;
  before: number | null;
  limit: number;
  status: number;
  posts: number;
  fault: FaultKind | null;
}

export interface TumblrStandIn {
  readonly url: string;
  readonly requestLog: RequestLogEntry[];
  /** Adds posts (e.g. new ones arriving while a live ingester polls). */
  addPosts(posts: RawTumblrPost[]): void;
  /** Adds a fault now; `forMs` faults start at the moment of injection. */
  inject(fault: ScriptedFault): void;
  /** Successful (200) `/v2/tagged` answers so far. */
  okCalls(): number;
  close(): Promise<void>;
}

export interface StandInOptions {
  port?: number;
  host?: string;
  posts?: RawTumblrPost[];
  behaviours?: StandInBehaviours;
  now?: () => number;
  /** Called as each `/v2/tagged` request is answered (tests use it to act at an exact point of a run). */
  onRequest?: (entry: RequestLogEntry) => void;
}

export const STANDIN_DEFAULT_KEY = 'standin-key';
const MAX_LIMIT = 20;

interface ActiveFault extends ScriptedFault {
  startsAtMs?: number;
  startsAtRequest?: number;
}

interface WindowCounter {
  windowStart: number;
  used: number;
}

export async function startTumblrStandIn(options: StandInOptions = {}): Promise<TumblrStandIn> {
  const behaviours = options.behaviours ?? {};
  const now = options.now ?? Date.now;
  const apiKey = behaviours.apiKey ?? STANDIN_DEFAULT_KEY;
  const limits = { perHour: 1000, perDay: 5000, perMinute: 300, ...behaviours.limits };
  const posts: RawTumblrPost[] = [];
  const byTag = new Map<string, RawTumblrPost[]>();
  const requestLog: RequestLogEntry[] = [];
  const faults: ActiveFault[] = (behaviours.faults ?? []).map((f) => ({ ...f, startsAtRequest: f.fromRequest, startsAtMs: f.forMs !== undefined && f.fromRequest === undefined ? now() : undefined }));
  const counters = { hour: { windowStart: 0, used: 0 }, day: { windowStart: 0, used: 0 }, minute: { windowStart: 0, used: 0 } };
  let requestCount = 0;
  let baseUrl = '';
  // Aborted by close(): a slow answer still waiting then gives up instead of holding the close.
  const closing = new AbortController();
  // Every slow answer in flight waits on this one signal (the reliability suite holds dozens at once): no limit, and
  // no leak either — each wait removes its listener when it ends (libs/core sleep).
  setMaxListeners(0, closing.signal);
  /** Waits `ms` unless the stand-in closes first (false: leave the request unanswered, its socket is gone). */
  const pause = (ms: number): Promise<boolean> => sleep(ms, { signal: closing.signal });

  const addPosts = (more: RawTumblrPost[]): void => {
    for (const post of more) {
      posts.push(post);
      // A fixture with a wrongly typed `tags` string is still findable, so a client meets the bad shape.
      const raw = post['tags'];
      const tags: unknown[] = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [];
      for (const tag of tags) {
        if (typeof tag !== 'string') continue;
        const key = tag.toLowerCase();
        const list = byTag.get(key) ?? [];
        list.push(post);
        byTag.set(key, list);
      }
    }
    for (const list of byTag.values()) list.sort((a, b) => timestampOf(b) - timestampOf(a));
  };
  addPosts(options.posts ?? []);

  const faultFor = (n: number): ActiveFault | undefined =>
    faults.find((f) => {
      if (f.startsAtRequest !== undefined) return n >= f.startsAtRequest && n < f.startsAtRequest + (f.count ?? 1);
      if (f.startsAtMs !== undefined && f.forMs !== undefined) return now() >= f.startsAtMs && now() < f.startsAtMs + f.forMs;
      return false;
    });

  const take = (counter: WindowCounter, windowMs: number, limit: number): { ok: boolean; remaining: number; resetS: number } => {
    const t = now();
    const start = Math.floor(t / windowMs) * windowMs;
    if (counter.windowStart !== start) {
      counter.windowStart = start;
      counter.used = 0;
    }
    const resetS = Math.ceil((start + windowMs - t) / 1000);
    if (counter.used >= limit) return { ok: false, remaining: 0, resetS };
    counter.used += 1;
    return { ok: true, remaining: limit - counter.used, resetS };
  };

  const handleTagged = async (url: URL, res: ServerResponse): Promise<void> => {
    const n = ++requestCount;
    const tagParam = url.searchParams.get('tag');
    const beforeParam = url.searchParams.get('before');
    const limitParam = url.searchParams.get('limit');
    const limit = Math.min(MAX_LIMIT, Math.max(1, limitParam === null ? MAX_LIMIT : Number(limitParam) || MAX_LIMIT));
    const before = beforeParam === null ? null : Number(beforeParam);
    const log = (status: number, count: number, fault: FaultKind | null): void => {
      const entry: RequestLogEntry = { at: now(), n, tag: tagParam, before, limit, status, posts: count, fault };
      requestLog.push(entry);
      options.onRequest?.(entry);
    };
    if (behaviours.latencyMs !== undefined && !(await pause(behaviours.latencyMs))) return;

    if (url.searchParams.get('api_key') !== apiKey) {
      log(401, 0, null);
      return envelope(res, 401, 'Unauthorized', [], {}, { errors: [{ title: 'Unauthorized', code: 1016, detail: 'Unable to authorize' }] });
    }
    const fault = faultFor(n);
    if (fault?.kind === 'rate-limit') {
      log(429, 0, 'rate-limit');
      const retry = fault.retryAfterSeconds === undefined ? 1 : fault.retryAfterSeconds;
      const spent: Record<string, string> =
        fault.exhausted === undefined
          ? {}
          : { [`x-ratelimit-per${fault.exhausted}-remaining`]: '0', [`x-ratelimit-per${fault.exhausted}-reset`]: String(fault.resetSeconds ?? 3600) };
      return envelope(res, 429, 'Limit Exceeded', [], { ...spent, ...(retry === null ? {} : { 'retry-after': String(retry) }) });
    }
    if (fault?.kind === 'envelope-status') {
      const metaStatus = fault.metaStatus ?? 429;
      log(fault.status ?? 401, 0, 'envelope-status');
      return envelope(res, fault.status ?? 401, statusMessage(metaStatus), [], { 'retry-after': '1' }, undefined, metaStatus);
    }
    if (fault?.kind === 'server-error') {
      const status = fault.status ?? 503;
      log(status, 0, 'server-error');
      return envelope(res, status, status === 503 ? 'Service Unavailable' : 'Internal Server Error', [], {});
    }
    if (fault?.kind === 'slow' && !(await pause(fault.delayMs ?? 2000))) return;

    const minute = take(counters.minute, 60_000, limits.perMinute);
    const hour = take(counters.hour, 3_600_000, limits.perHour);
    const day = take(counters.day, 86_400_000, limits.perDay);
    const headers = {
      'x-ratelimit-perhour-limit': String(limits.perHour),
      'x-ratelimit-perhour-remaining': String(hour.remaining),
      'x-ratelimit-perhour-reset': String(hour.resetS),
      'x-ratelimit-perday-limit': String(limits.perDay),
      'x-ratelimit-perday-remaining': String(day.remaining),
      'x-ratelimit-perday-reset': String(day.resetS),
    };
    if (!minute.ok || !hour.ok || !day.ok) {
      log(429, 0, null);
      const resetS = !minute.ok ? minute.resetS : !hour.ok ? hour.resetS : day.resetS;
      return envelope(res, 429, 'Limit Exceeded', [], { ...headers, 'retry-after': String(resetS) });
    }
    if (tagParam === null || tagParam.trim() === '') {
      log(400, 0, null);
      return envelope(res, 400, 'Bad Request', [], headers, { errors: [{ title: 'Bad Request', detail: 'tag is required' }] });
    }
    const refused = behaviours.refusedTags?.[tagParam.toLowerCase()];
    if (refused !== undefined) {
      log(refused, 0, null);
      return envelope(res, refused, statusMessage(refused), [], headers);
    }
    const featured = behaviours.featuredTags?.includes(tagParam.toLowerCase()) === true;
    const pagedAt = featured ? featuredTimestampOf : timestampOf;
    const listed = byTag.get(tagParam.toLowerCase()) ?? [];
    const candidates = featured ? listed.filter((p) => featuredTimestampOf(p) > 0).sort((a, b) => featuredTimestampOf(b) - featuredTimestampOf(a)) : listed;
    const page = candidates.filter((p) => before === null || !Number.isFinite(before) || pagedAt(p) < before).slice(0, limit);

    if (fault?.kind === 'malformed') {
      log(200, 0, 'malformed');
      return malformed(res, fault.malformation ?? 'truncated-json', headers);
    }
    log(200, page.length, fault?.kind ?? null);
    // Without npf=true, Tumblr renders posts made in the apps (NPF) as legacy text with HTML bodies.
    const npf = url.searchParams.get('npf') === 'true';
    const shaped = npf ? page : page.map((p) => (p['is_blocks_post_format'] === true && Array.isArray(p['content']) ? legacyRendering(p) : p));
    return envelope(res, 200, 'OK', shaped, headers);
  };

  const envelope = (res: ServerResponse, status: number, msg: string, page: RawTumblrPost[], headers: Record<string, string>, response?: unknown, metaStatus = status): void => {
    const body = serialise({ meta: { status: metaStatus, msg }, response: response ?? page }, baseUrl);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length), ...headers });
    res.end(body);
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://standin.invalid');
    const route = async (): Promise<void> => {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { 'content-type': 'text/plain' });
        res.end('method not allowed\n');
        return;
      }
      if (url.pathname === '/v2/tagged') return handleTagged(url, res);
      if (url.pathname.startsWith('/images/')) {
        const file = decodeURIComponent(url.pathname.slice('/images/'.length));
        const delayMs = Number(url.searchParams.get('delayMs') ?? 0);
        if (delayMs > 0 && !(await pause(Math.min(delayMs, 30_000)))) return;
        const image = await imageFor(file);
        res.writeHead(image.status, { 'content-type': image.contentType, 'content-length': String(image.body.length), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : image.body);
        return;
      }
      if (url.pathname === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ meta: { status: 404, msg: 'Not Found' }, response: [] }));
    };
    route().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`stand-in error: ${String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${options.host ?? '127.0.0.1'}:${address.port}`;

  return {
    url: baseUrl,
    requestLog,
    addPosts,
    inject(fault) {
      faults.push({ ...fault, startsAtRequest: fault.fromRequest, startsAtMs: fault.fromRequest === undefined ? now() : undefined });
    },
    okCalls: () => requestLog.filter((r) => r.status === 200).length,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function statusMessage(status: number): string {
  const messages: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Limit Exceeded' };
  return messages[status] ?? 'Error';
}

function featuredTimestampOf(post: RawTumblrPost): number {
  const t = post['featured_timestamp'];
  return typeof t === 'number' ? t : 0;
}

function timestampOf(post: RawTumblrPost): number {
  const t = post['timestamp'];
  return typeof t === 'number' ? t : Number(t) || 0;
}

/** JSON with `{{base}}` resolved to this server and the invalid-UTF-8 marker turned into a broken byte sequence. */
function serialise(value: unknown, baseUrl: string): Buffer {
  const json = JSON.stringify(value).replaceAll('{{base}}', baseUrl);
  const marker = JSON.stringify(INVALID_UTF8_MARKER).slice(1, -1);
  if (!json.includes(marker)) return Buffer.from(json, 'utf8');
  const parts = json.split(marker);
  const chunks: Buffer[] = [];
  parts.forEach((part, i) => {
    if (i > 0) chunks.push(Buffer.from([0xc3, 0x28, 0xff])); // an invalid 2-byte start, then a byte never valid in UTF-8
    chunks.push(Buffer.from(part, 'utf8'));
  });
  return Buffer.concat(chunks);
}

function malformed(res: ServerResponse, kind: Malformation, headers: Record<string, string>): void {
  let body: Buffer;
  let contentType = 'application/json; charset=utf-8';
  switch (kind) {
    case 'truncated-json':
      body = Buffer.from('{"meta":{"status":200,"msg":"OK"},"response":[{"id":1,"blog_na');
      break;
    case 'html':
      contentType = 'text/html';
      body = Buffer.from('<html><body><h1>Bad gateway</h1></body></html>');
      break;
    case 'no-envelope':
      body = Buffer.from(JSON.stringify([{ id: 1 }]));
      break;
    case 'wrong-types':
      body = Buffer.from(JSON.stringify({ meta: { status: 200, msg: 'OK' }, response: { posts: 'not-a-list' } }));
      break;
    case 'huge-body':
      body = Buffer.from(JSON.stringify({ meta: { status: 200, msg: 'OK' }, response: [], padding: 'x'.repeat(12 * 1024 * 1024) }));
      break;
  }
  res.writeHead(200, { 'content-type': contentType, 'content-length': String(body.length), ...headers });
  res.end(body);
}
