import { scrubSecrets } from '@moodstream/core';
import { TumblrAuthError, TumblrRateLimitError, TumblrRejectedError, TumblrResponseError, TumblrServerError } from './errors';

export const TUMBLR_API_URL = 'https://api.tumblr.com';
export const TAGGED_PAGE_LIMIT = 20;

/** What Tumblr's `X-Ratelimit-*` headers said about the key's remaining budget. */
export interface RateLimitInfo {
  perHourRemaining: number | null;
  perHourResetMs: number | null;
  perDayRemaining: number | null;
  perDayResetMs: number | null;
}

export interface TaggedPage {
  /** Raw post objects, parsed later one by one so a bad post never spoils its page. */
  posts: unknown[];
  rateLimit: RateLimitInfo;
}

export interface TumblrClientOptions {
  apiKey: string;
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
  /** Bodies larger than this are refused (a page of 20 posts is far smaller). */
  maxBodyBytes?: number;
  userAgent?: string;
  /** Ask for NPF (default true). False gets the legacy rendering: kept for comparing the two, not for ingesting. */
  npf?: boolean;
  /**
   * Called with the rate-limit headers of every answer that has them — 429s and errors included — before the
   * call resolves or throws, so the budget hears an exhausted window even from a failed call.
   */
  onRateLimit?: (info: RateLimitInfo) => void;
}

/**
 * The one Tumblr call the ingester makes: GET /v2/tagged. It raises typed errors (auth, rate limit,
 * server, malformed answer) and never puts the API key in a message.
 */
export class TumblrClient {
  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly timeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly userAgent: string;
  private readonly onRateLimit: ((info: RateLimitInfo) => void) | undefined;
  private readonly npf: boolean;

  constructor(options: TumblrClientOptions) {
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? TUMBLR_API_URL).replace(/\/+$/, '');
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.maxBodyBytes = options.maxBodyBytes ?? 8 * 1024 * 1024;
    // Tumblr asks for one consistent User-Agent per application.
    this.userAgent = options.userAgent ?? 'moodstream-ingester/0.1';
    this.onRateLimit = options.onRateLimit;
    this.npf = options.npf ?? true;
  }

  /**
   * Posts tagged `tag` strictly older than `before` (epoch seconds; for a featured tag, the posts'
   * `featured_timestamp`), newest first, in NPF (`npf=true`): posts made in the apps are NPF, and
   * their legacy rendering hides images inside HTML.
   */
  async tagged(params: { tag: string; before?: number | null; limit?: number }): Promise<TaggedPage> {
    const url = new URL('/v2/tagged', this.baseUrl);
    url.searchParams.set('tag', params.tag);
    if (this.npf) url.searchParams.set('npf', 'true');
    if (params.before !== undefined && params.before !== null) url.searchParams.set('before', String(params.before));
    url.searchParams.set('limit', String(Math.min(TAGGED_PAGE_LIMIT, Math.max(1, params.limit ?? TAGGED_PAGE_LIMIT))));
    url.searchParams.set('api_key', this.apiKey);

    let response: Response;
    try {
      response = await this.fetchFn(url, {
        headers: { 'user-agent': this.userAgent, accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (error) {
      throw new TumblrServerError(null, `Tumblr request failed: ${this.scrub(error instanceof Error ? error.message : String(error))}`);
    }
    const rateLimit = readRateLimit(response.headers);
    if (hasRateLimit(rateLimit)) this.onRateLimit?.(rateLimit);
    // An error's body only refines its status: one too large to read leaves the HTTP status to speak.
    const bytes = await this.readCapped(response).catch((error: unknown) => {
      if (response.status === 200) throw error;
      return new Uint8Array();
    });
    // Undecodable bytes become U+FFFD here; the post parser removes them and counts the post as cleaned.
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    // The envelope's own status is what Tumblr meant when a proxy or the edge put another on the HTTP line.
    const status = envelopeStatus(body) ?? response.status;
    if (status === 401 || status === 403) throw new TumblrAuthError(status);
    if (status === 429) {
      throw new TumblrRateLimitError(retryAfterMs(response.headers.get('retry-after')) ?? exhaustedResetMs(rateLimit));
    }
    if (status >= 500) throw new TumblrServerError(status, `Tumblr answered HTTP ${describeStatus(response.status, status)}`);
    if (status >= 400) {
      throw new TumblrRejectedError(status, `Tumblr refused /tagged for this tag: HTTP ${describeStatus(response.status, status)}${envelopeMessage(body)}`);
    }
    if (status !== 200) throw new TumblrResponseError('unexpected-status', `Tumblr answered HTTP ${describeStatus(response.status, status)}`);
    if (body === undefined) throw new TumblrResponseError('not-json', `Tumblr answer is not JSON (${bytes.length} bytes)`);
    if (typeof body !== 'object' || body === null || !('meta' in body) || !('response' in body)) {
      throw new TumblrResponseError('bad-envelope', 'Tumblr answer lacks the meta/response envelope');
    }
    const posts = (body as { response: unknown }).response;
    if (!Array.isArray(posts)) throw new TumblrResponseError('bad-envelope', 'Tumblr /tagged response is not a list of posts');
    return { posts, rateLimit };
  }

  private async readCapped(response: Response): Promise<Uint8Array> {
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > this.maxBodyBytes) {
      await response.body?.cancel();
      throw new TumblrResponseError('too-large', `Tumblr answer of ${declared} bytes exceeds ${this.maxBodyBytes}`);
    }
    if (response.body === null) return new Uint8Array();
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > this.maxBodyBytes) {
        await reader.cancel();
        throw new TumblrResponseError('too-large', `Tumblr answer exceeds ${this.maxBodyBytes} bytes`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks);
  }

  private scrub(message: string): string {
    return scrubSecrets(message).split(this.apiKey).join('[redacted]');
  }
}

function numberHeader(headers: Headers, name: string): number | null {
  const value = headers.get(name);
  if (value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** `meta.status` of a JSON envelope, when it is a real HTTP status. */
function envelopeStatus(body: unknown): number | null {
  if (typeof body !== 'object' || body === null || !('meta' in body)) return null;
  const meta = (body as { meta: unknown }).meta;
  const status = typeof meta === 'object' && meta !== null ? (meta as { status?: unknown }).status : undefined;
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 ? status : null;
}

/** `meta.msg` for the log (Tumblr's own words, e.g. "Not Found"), bounded. */
function envelopeMessage(body: unknown): string {
  const meta = typeof body === 'object' && body !== null && 'meta' in body ? (body as { meta: unknown }).meta : undefined;
  const msg = typeof meta === 'object' && meta !== null ? (meta as { msg?: unknown }).msg : undefined;
  return typeof msg === 'string' && msg !== '' ? ` (${msg.slice(0, 200)})` : '';
}

const describeStatus = (http: number, meta: number): string => (http === meta ? String(http) : `${http}, envelope ${meta}`);

function hasRateLimit(info: RateLimitInfo): boolean {
  return info.perHourRemaining !== null || info.perDayRemaining !== null;
}

/**
 * How long until the limit that ran out resets: the longest reset among windows showing 0 remaining (both
 * must have room again). Null when no window says it is exhausted: then nothing says how long to wait.
 */
export function exhaustedResetMs(info: RateLimitInfo): number | null {
  const waits: number[] = [];
  if (info.perHourRemaining === 0 && info.perHourResetMs !== null) waits.push(info.perHourResetMs);
  if (info.perDayRemaining === 0 && info.perDayResetMs !== null) waits.push(info.perDayResetMs);
  return waits.length === 0 ? null : Math.max(...waits);
}

export function readRateLimit(headers: Headers): RateLimitInfo {
  const hourReset = numberHeader(headers, 'x-ratelimit-perhour-reset');
  const dayReset = numberHeader(headers, 'x-ratelimit-perday-reset');
  return {
    perHourRemaining: numberHeader(headers, 'x-ratelimit-perhour-remaining'),
    perHourResetMs: hourReset === null ? null : hourReset * 1000,
    perDayRemaining: numberHeader(headers, 'x-ratelimit-perday-remaining'),
    perDayResetMs: dayReset === null ? null : dayReset * 1000,
  };
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : null;
}
