import type { Alert, Emotion, WindowSize } from '@moodstream/events';
import type { ApiError, ExamplePost, ReplayStatus, SeriesResponse, TopicSummary } from '@moodstream/trends';

/**
 * The browser's calls to the trends HTTP API, all in one place. Paths and bodies follow libs/trends/src/api-types.ts.
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

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { accept: 'application/json', ...(init?.body !== undefined ? { 'content-type': 'application/json' } : {}) } });
  } catch {
    throw new ApiRequestError(0, 'NETWORK', 'the dashboard server cannot be reached');
  }
  const text = await res.text();
  let body: unknown = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!res.ok) {
    const error = (body as Partial<ApiError> | null)?.error;
    throw new ApiRequestError(res.status, error?.code ?? `HTTP_${res.status}`, error?.message ?? `${res.status} ${res.statusText}`);
  }
  return body as T;
}

function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, String(v));
  return q.toString();
}

/** Accepts both a bare array and `{ <key>: [...] }`, so a list endpoint may add paging fields later. */
function list<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  const inner = (body as Record<string, unknown> | null)?.[key];
  return Array.isArray(inner) ? (inner as T[]) : [];
}

export const api = {
  async topics(): Promise<TopicSummary[]> {
    return list<TopicSummary>(await request('/api/topics'), 'topics');
  },
  series(params: { topic: string; window: WindowSize; from: number; to: number; replay?: string | null }): Promise<SeriesResponse> {
    return request(`/api/series?${query(params)}`);
  },
  async alerts(params: { topic?: string; replay?: string | null; limit?: number }): Promise<Alert[]> {
    return list<Alert>(await request(`/api/alerts?${query(params)}`), 'alerts');
  },
  acknowledge(id: string): Promise<unknown> {
    return request(`/api/alerts/${encodeURIComponent(id)}/ack`, { method: 'POST' });
  },
  async posts(params: { topic: string; window: WindowSize; start: number; emotion?: Emotion | null; replay?: string | null; limit?: number }): Promise<ExamplePost[]> {
    return list<ExamplePost>(await request(`/api/posts?${query(params)}`), 'posts');
  },
  startReplay(body: { topic: string; from: number; to: number; speed: number | 'max' }): Promise<ReplayStatus> {
    return request('/api/replays', { method: 'POST', body: JSON.stringify(body) });
  },
  async replays(): Promise<ReplayStatus[]> {
    return list<ReplayStatus>(await request('/api/replays'), 'replays');
  },
  replayAction(id: string, action: 'pause' | 'resume' | 'stop'): Promise<ReplayStatus> {
    return request(`/api/replays/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
  },
};

export function describeError(error: unknown): string {
  if (error instanceof ApiRequestError) return error.message;
  return error instanceof Error ? error.message : String(error);
}
