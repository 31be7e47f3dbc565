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
  describeZodError,
  type Alert,
  type Emotion,
  type ExamplePost,
  type ReplayStatus,
  type SeriesResponse,
  type TopicSummary,
  type UiConfig,
  type WindowSize,
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

async function request<S extends z.ZodTypeAny>(path: string, schema: S, init?: RequestInit): Promise<z.output<S>> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { accept: 'application/json', ...(init?.body !== undefined ? { 'content-type': 'application/json' } : {}) } });
  } catch {
    throw new ApiRequestError(0, 'NETWORK', 'the dashboard server cannot be reached');
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
  startReplay(body: { topic: string; from: number; to: number; speed: number | 'max' }): Promise<ReplayStatus> {
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
