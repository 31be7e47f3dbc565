import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EMOTIONS, WINDOW_MS, type Alert, type Emotion, type WindowSize } from '@moodstream/events';
import type { ExamplePost, ReplayStatus, SeriesPoint, SeriesUpdate, TopicSummary } from '@moodstream/trends';
import type { TrendsEvents, TrendsHttpHandler } from '../../src/trends-port';

/**
 * A unit-test double of the trends service for the dashboard's own tests: an emitter plus arrays, answering the
 * /api routes the browser calls. Tests put points, alerts and posts in and the dashboard must show them.
 */
export class FakeTrends {
  private readonly emitter = new EventEmitter();
  readonly points = new Map<string, SeriesPoint[]>();
  readonly alerts: Alert[] = [];
  readonly posts: { topic: string; window: WindowSize; start: number; replay: string | null; post: ExamplePost }[] = [];
  readonly replays = new Map<string, ReplayStatus>();
  topics: TopicSummary[] = [];
  readonly acknowledged: string[] = [];
  readonly requests: string[] = [];

  on<E extends keyof TrendsEvents>(event: E, listener: (...args: TrendsEvents[E]) => void): this {
    this.emitter.on(event, listener);
    return this;
  }

  off<E extends keyof TrendsEvents>(event: E, listener: (...args: TrendsEvents[E]) => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  listenerCount(event: keyof TrendsEvents): number {
    return this.emitter.listenerCount(event);
  }

  private key(topic: string, window: WindowSize, replay: string | null): string {
    return `${replay ?? ''}|${window}|${topic}`;
  }

  /** Stores a bucket and pushes it as a live update, like the aggregator does when a bucket changes. */
  putPoint(topic: string, window: WindowSize, point: SeriesPoint, replay: string | null = null, push = true): void {
    const key = this.key(topic, window, replay);
    const list = (this.points.get(key) ?? []).filter((p) => p.start !== point.start);
    list.push(point);
    list.sort((a, b) => a.start - b.start);
    this.points.set(key, list);
    if (push) this.emit('series', { topic, window, replay, point } satisfies SeriesUpdate);
  }

  addAlert(alert: Alert): void {
    this.alerts.unshift(alert);
    this.emit('alert', alert);
  }

  setReplay(status: ReplayStatus): void {
    this.replays.set(status.id, status);
    this.emit('replay', status);
  }

  emit<E extends keyof TrendsEvents>(event: E, ...args: TrendsEvents[E]): void {
    this.emitter.emit(event, ...args);
  }

  /** Replay requests the fake received; a test drives the replay's progress itself. */
  readonly replayStarts: { topic: string; from: number; to: number; speed: number | 'max' }[] = [];

  readonly handler: TrendsHttpHandler = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const q = url.searchParams;
    this.requests.push(`${req.method} ${path}${url.search}`);
    const replay = q.get('replay');
    if (req.method === 'GET' && path === '/api/topics') return json(res, 200, { topics: this.topics });
    // The chart asks for the model-version markers of the topic it shows; this fake has one model all along.
    if (req.method === 'GET' && path === '/api/model-versions') return json(res, 200, { changes: [] });
    if (req.method === 'GET' && path === '/api/series') {
      const topic = q.get('topic') ?? 'all';
      const window = (q.get('window') ?? '1m') as WindowSize;
      const from = Number(q.get('from') ?? 0);
      const to = Number(q.get('to') ?? Date.now());
      const points = (this.points.get(this.key(topic, window, replay)) ?? []).filter((p) => p.start >= from && p.start < to);
      return json(res, 200, { topic, window, from, to, replay, points });
    }
    if (req.method === 'GET' && path === '/api/alerts') {
      return json(res, 200, { alerts: this.alerts.filter((a) => a.replayId === replay) });
    }
    const ack = /^\/api\/alerts\/([^/]+)\/ack$/.exec(path);
    if (req.method === 'POST' && ack !== null) {
      const id = decodeURIComponent(ack[1] ?? '');
      const alert = this.alerts.find((a) => a.id === id);
      if (alert === undefined) return json(res, 404, { error: { code: 'NOT_FOUND', message: `no alert ${id}` } });
      alert.acknowledged = true;
      this.acknowledged.push(id);
      return json(res, 200, alert);
    }
    if (req.method === 'GET' && path === '/api/posts') {
      const start = Number(q.get('start'));
      const emotion = q.get('emotion');
      const posts = this.posts
        .filter((p) => p.topic === (q.get('topic') ?? 'all') && p.window === (q.get('window') ?? '1m') && p.start === start && p.replay === replay)
        .map((p) => p.post)
        .filter((p) => emotion === null || p.topEmotion === emotion);
      return json(res, 200, { posts });
    }
    if (req.method === 'GET' && path === '/api/replays') return json(res, 200, { replays: [...this.replays.values()] });
    if (req.method === 'POST' && path === '/api/replays') {
      const body = JSON.parse(await readBody(req)) as { topic: string; from: number; to: number; speed: number | 'max' };
      this.replayStarts.push(body);
      const status: ReplayStatus = {
        id: `r${this.replayStarts.length}`,
        topic: body.topic,
        from: body.from,
        to: body.to,
        speed: body.speed,
        rescore: false,
        state: 'running',
        progress: 0,
        cursor: body.from,
        processed: 0,
        alerts: 0,
        startedAt: Date.now(),
        finishedAt: null,
        error: null,
      };
      this.replays.set(status.id, status);
      return json(res, 201, status);
    }
    const action = /^\/api\/replays\/([^/]+)\/(pause|resume|stop)$/.exec(path);
    if (req.method === 'POST' && action !== null) {
      const status = this.replays.get(decodeURIComponent(action[1] ?? ''));
      if (status === undefined) return json(res, 404, { error: { code: 'NOT_FOUND', message: 'no such replay' } });
      const state = action[2] === 'pause' ? 'paused' : action[2] === 'resume' ? 'running' : 'stopped';
      const next = { ...status, state } as ReplayStatus;
      this.setReplay(next);
      return json(res, 200, next);
    }
    return false;
  };
}

function json(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
  return true;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** A bucket whose shares follow `mix` (renormalised), with a plausible 95% band for `count` posts. */
export function makePoint(start: number, count: number, mix: Partial<Record<Emotion, number>>): SeriesPoint {
  const raw = EMOTIONS.map((e) => mix[e] ?? 0.05);
  const total = raw.reduce((a, b) => a + b, 0);
  const shares = Object.fromEntries(
    EMOTIONS.map((e, i) => {
      const share = (raw[i] ?? 0) / total;
      const half = 1.96 * Math.sqrt((share * (1 - share)) / Math.max(1, count));
      return [e, { share, lo: Math.max(0, share - half), hi: Math.min(1, share + half) }];
    }),
  ) as SeriesPoint['shares'];
  const topCounts = Object.fromEntries(EMOTIONS.map((e) => [e, Math.round(shares[e].share * count)])) as SeriesPoint['topCounts'];
  return { start, count, shares, corrected: null, topCounts, explicitCount: 0 };
}

export function makeAlert(overrides: Partial<Alert> & Pick<Alert, 'id' | 'topic' | 'emotion'>): Alert {
  const start = overrides.window?.start ?? Math.floor(Date.now() / 60_000) * 60_000;
  const size = overrides.window?.size ?? '1m';
  return {
    window: { size, start, end: start + WINDOW_MS[size] },
    observed: 0.21,
    expected: 0.05,
    count: 420,
    statistic: 15.2,
    pValue: 1e-12,
    threshold: 0.0005,
    examplePostIds: [],
    firedAt: Date.now(),
    replayId: null,
    acknowledged: false,
    ...overrides,
  };
}
