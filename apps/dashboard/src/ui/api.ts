import type { z } from 'zod';
import {
  AlertSchema,
  AlertsResponseSchema,
  ApiErrorSchema,
  ExamplePostsResponseSchema,
  ReplayStatusSchema,
  ReplaysResponseSchema,
  SeriesResponseSchema,
  TopicsResponseSchema,
  UI_CONFIG_PATH,
  UiConfigSchema,
  WordShiftSchema,
  describeZodError,
  type Alert,
  type Emotion,
  type ExamplePost,
  type ReplayStatus,
  type SeriesResponse,
  type TopicSummary,
  type UiConfig,
  type WindowSize,
  type WordShift,
} from '@moodstream/events';
import { recordRejection } from './contract-log';

/**
 * The browser's calls to the dashboard server, all in one place. Every answer is parsed with its schema from
 * @moodstream/events before the page uses it: a server speaking another version of the contract shows up as an error
 * state rather than as a crash deep inside a chart.
 */

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

/** The code of an ApiRequestError whose answer arrived but did not match the contract. */
export const BAD_ANSWER = 'BAD_ANSWER';

export function isBadAnswer(error: unknown): boolean {
  return error instanceof ApiRequestError && error.code === BAD_ANSWER;
}

/**
 * The operator token for write actions (acknowledging, replays), when the server requires one
 * (DASHBOARD_OPERATOR_TOKEN). It lives in this tab's sessionStorage and goes out only as an Authorization header,
 * which a browser never attaches on its own to a request another site makes — so no cookie, and no CSRF.
 */
const OPERATOR_TOKEN_KEY = 'moodstream.operatorToken';

function storedToken(): string | null {
  try {
    return globalThis.sessionStorage?.getItem(OPERATOR_TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

function storeToken(token: string | null): void {
  try {
    if (token === null) globalThis.sessionStorage?.removeItem(OPERATOR_TOKEN_KEY);
    else globalThis.sessionStorage?.setItem(OPERATOR_TOKEN_KEY, token);
  } catch {
    // Storage disabled: the token is asked for again next time.
  }
}

/** Asks the operator for the token after a 401; null when dismissed (the refusal's message is then shown). */
function askForToken(): string | null {
  if (typeof globalThis.prompt !== 'function') return null;
  const answer = globalThis.prompt('This action needs the operator token (DASHBOARD_OPERATOR_TOKEN on the server):');
  const token = answer?.trim() ?? '';
  return token === '' ? null : token;
}

export async function request<S extends z.ZodTypeAny>(path: string, schema: S, init?: RequestInit, askedForToken = false): Promise<z.output<S>> {
  let res: Response;
  const write = init?.method !== undefined && init.method !== 'GET';
  const token = write ? storedToken() : null;
  try {
    res = await fetch(path, {
      ...init,
      // same-origin: the page's own server only; the browser adds Origin/Sec-Fetch-Site, which the server checks.
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(init?.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token !== null ? { authorization: `Bearer ${token}` } : {}),
      },
    });
  } catch {
    throw new ApiRequestError(0, 'NETWORK', 'the dashboard server cannot be reached');
  }
  if (write && res.status === 401 && !askedForToken) {
    // No token yet, or a stale one: ask once and try again; dismissed, the server's refusal is what the page shows.
    storeToken(null);
    const entered = askForToken();
    if (entered !== null) {
      storeToken(entered);
      return request(path, schema, init, true);
    }
  }
  const text = await res.text();
  let body: unknown = null;
  let json = text.length > 0;
  if (json) {
    try {
      body = JSON.parse(text);
    } catch {
      json = false;
    }
  }
  if (!res.ok) {
    // An error body that is not ours (a proxy's HTML page) still leaves the status to report.
    const error = ApiErrorSchema.safeParse(body);
    if (error.success) throw new ApiRequestError(res.status, error.data.error.code, error.data.error.message);
    throw new ApiRequestError(res.status, `HTTP_${res.status}`, `${res.status} ${res.statusText}`);
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problem = json ? describeZodError(parsed.error) : 'the body is not JSON';
  recordRejection(`${init?.method ?? 'GET'} ${path}`, problem);
  throw new ApiRequestError(res.status, BAD_ANSWER, `the server's answer is not what this page expects (${problem})`);
}

function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, String(v));
  return q.toString();
}

export const api = {
  async topics(): Promise<TopicSummary[]> {
    return (await request('/api/topics', TopicsResponseSchema)).topics;
  },
  series(params: { topic: string; window: WindowSize; from: number; to: number; replay?: string | null }): Promise<SeriesResponse> {
    return request(`/api/series?${query(params)}`, SeriesResponseSchema);
  },
  async alerts(params: { topic?: string; replay?: string | null; limit?: number }): Promise<Alert[]> {
    return (await request(`/api/alerts?${query(params)}`, AlertsResponseSchema)).alerts;
  },
  /** Resolves with the alert as the server now stores it. */
  acknowledge(id: string): Promise<Alert> {
    return request(`/api/alerts/${encodeURIComponent(id)}/ack`, AlertSchema, { method: 'POST' });
  },
  async posts(params: { topic: string; window: WindowSize; start: number; emotion?: Emotion | null; replay?: string | null; limit?: number }): Promise<ExamplePost[]> {
    return (await request(`/api/posts?${query(params)}`, ExamplePostsResponseSchema)).posts;
  },
  wordShift(params: { topic: string; window: WindowSize; start: number; emotion: Emotion; replay?: string | null; limit?: number }): Promise<WordShift> {
    return request(`/api/word-shift?${query(params)}`, WordShiftSchema);
  },
  startReplay(body: { topic: string; from: number; to: number; speed: number | 'max'; rescore?: boolean; modelVersion?: string }): Promise<ReplayStatus> {
    return request('/api/replays', ReplayStatusSchema, { method: 'POST', body: JSON.stringify(body) });
  },
  async replays(): Promise<ReplayStatus[]> {
    return (await request('/api/replays', ReplaysResponseSchema)).replays;
  },
  replayAction(id: string, action: 'pause' | 'resume' | 'stop'): Promise<ReplayStatus> {
    return request(`/api/replays/${encodeURIComponent(id)}/${action}`, ReplayStatusSchema, { method: 'POST' });
  },
  uiConfig(): Promise<UiConfig> {
    return request(UI_CONFIG_PATH, UiConfigSchema);
  },
};

export function describeError(error: unknown): string {
  if (error instanceof ApiRequestError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
