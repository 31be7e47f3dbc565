import { useCallback, useEffect, useState } from 'react';
import type { Alert } from '@moodstream/events';
import type { ReplayStatus, SeriesPoint, SeriesUpdate, TopicSummary } from '@moodstream/trends';
import { mergeAlert, mergeAlerts } from './alerts';
import { api, describeError } from './api';
import { mergePoint, updateMatches, type SeriesSelection } from './series';
import { getSocket } from './socket';
import { liveSpan } from './windows';

export type Loadable<T> =
  | { status: 'loading'; data: T | null }
  | { status: 'ready'; data: T }
  | { status: 'error'; data: T | null; error: string };

export function useConnection(): boolean {
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const socket = getSocket();
    const on = () => setConnected(true);
    const off = () => setConnected(false);
    setConnected(socket.connected);
    socket.on('connect', on);
    socket.on('disconnect', off);
    return () => {
      socket.off('connect', on);
      socket.off('disconnect', off);
    };
  }, []);
  return connected;
}

export interface SeriesRequest extends SeriesSelection {
  /** Fixed left edge; for a live chart, `rangeMs` back from now instead. */
  from?: number;
  to?: number;
  rangeMs?: number;
}

/**
 * A chart's buckets: fetched once, then kept current by `series` pushes for the watched selection (merged by bucket
 * start). Pushes arriving while the fetch is in flight are held and merged after it. Re-fetches after a reconnect so
 * nothing missed while offline stays missing.
 */
export function useSeries(request: SeriesRequest | null): { state: Loadable<SeriesPoint[]>; reload: () => void } {
  const [state, setState] = useState<Loadable<SeriesPoint[]>>({ status: 'loading', data: null });
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const key = request === null ? null : JSON.stringify(request);

  useEffect(() => {
    if (request === null) return;
    const socket = getSocket();
    const selection: SeriesSelection = { topic: request.topic, window: request.window, replay: request.replay };
    const leftEdge = () => (request.rangeMs !== undefined ? liveSpan(Date.now(), request.window, request.rangeMs).from : (request.from ?? -Infinity));
    let cancelled = false;
    let pending: SeriesPoint[] | null = [];

    const onUpdate = (update: SeriesUpdate) => {
      if (!updateMatches(update, selection)) return;
      if (request.to !== undefined && update.point.start >= request.to) return;
      if (pending !== null) {
        pending.push(update.point);
        return;
      }
      setState((prev) => {
        const points = prev.data ?? [];
        const merged = mergePoint(points, update.point, leftEdge());
        return merged === points && prev.status === 'ready' ? prev : { status: 'ready', data: merged };
      });
    };
    const watch = () => socket.emit('watch', selection);
    const load = () => {
      const live = liveSpan(Date.now(), request.window, request.rangeMs ?? 3_600_000);
      const to = request.to ?? live.to;
      const from = request.from ?? live.from;
      setState((prev) => ({ status: 'loading', data: prev.data }));
      api.series({ topic: selection.topic, window: selection.window, from, to, replay: selection.replay }).then(
        (res) => {
          if (cancelled) return;
          let points = res.points.slice().sort((a, b) => a.start - b.start);
          for (const p of pending ?? []) points = mergePoint(points, p, leftEdge());
          pending = null;
          setState({ status: 'ready', data: points });
        },
        (error: unknown) => {
          if (cancelled) return;
          pending = null;
          setState((prev) => ({ status: 'error', data: prev.data, error: describeError(error) }));
        },
      );
    };
    const onReconnect = () => {
      watch();
      pending = [];
      load();
    };

    setState({ status: 'loading', data: null });
    socket.on('series', onUpdate);
    socket.on('connect', onReconnect);
    if (socket.connected) watch();
    load();
    return () => {
      cancelled = true;
      socket.off('series', onUpdate);
      socket.off('connect', onReconnect);
    };
    // `key` stands for every field of `request`, so a new but equal request object does not refetch.
  }, [key, generation]);

  return { state, reload };
}

export function useTopics(): Loadable<TopicSummary[]> {
  const [state, setState] = useState<Loadable<TopicSummary[]>>({ status: 'loading', data: null });
  useEffect(() => {
    const socket = getSocket();
    let cancelled = false;
    const onTopics = (topics: TopicSummary[]) => setState({ status: 'ready', data: topics });
    socket.on('topics', onTopics);
    api.topics().then(
      (topics) => {
        if (!cancelled) setState({ status: 'ready', data: topics });
      },
      (error: unknown) => {
        if (!cancelled) setState((prev) => ({ status: 'error', data: prev.data, error: describeError(error) }));
      },
    );
    return () => {
      cancelled = true;
      socket.off('topics', onTopics);
    };
  }, []);
  return state;
}

/** The alert feed for live data (`replay` null) or one replay, newest first, kept live by `alert` pushes. */
export function useAlerts(replay: string | null): {
  state: Loadable<Alert[]>;
  acknowledge: (id: string) => Promise<void>;
} {
  const [state, setState] = useState<Loadable<Alert[]>>({ status: 'loading', data: null });
  useEffect(() => {
    const socket = getSocket();
    let cancelled = false;
    let pending: Alert[] | null = [];
    const onAlert = (alert: Alert) => {
      if ((alert.replayId ?? null) !== replay) return;
      if (pending !== null) pending.push(alert);
      else setState((prev) => ({ status: 'ready', data: mergeAlert(prev.data ?? [], alert) }));
    };
    const load = () => {
      api.alerts({ replay, limit: 100 }).then(
        (alerts) => {
          if (cancelled) return;
          // Live and replay alerts may share a store; each feed shows only its own.
          const own = alerts.filter((a) => (a.replayId ?? null) === replay);
          const merged = mergeAlerts(mergeAlerts([], own), pending ?? []);
          pending = null;
          setState({ status: 'ready', data: merged });
        },
        (error: unknown) => {
          if (cancelled) return;
          pending = null;
          setState((prev) => ({ status: 'error', data: prev.data, error: describeError(error) }));
        },
      );
    };
    setState({ status: 'loading', data: null });
    socket.on('alert', onAlert);
    load();
    return () => {
      cancelled = true;
      socket.off('alert', onAlert);
    };
  }, [replay]);

  const acknowledge = useCallback(async (id: string) => {
    await api.acknowledge(id);
    setState((prev) =>
      prev.data === null ? prev : { ...prev, data: prev.data.map((a) => (a.id === id ? { ...a, acknowledged: true } : a)) },
    );
  }, []);

  return { state, acknowledge };
}

/** Replay statuses by id, kept current by `replay` pushes. */
export function useReplays(): { replays: ReplayStatus[]; upsert: (status: ReplayStatus) => void } {
  const [replays, setReplays] = useState<ReplayStatus[]>([]);
  const upsert = useCallback((status: ReplayStatus) => {
    setReplays((prev) => {
      const rest = prev.filter((r) => r.id !== status.id);
      return [status, ...rest].sort((a, b) => b.startedAt - a.startedAt);
    });
  }, []);
  useEffect(() => {
    const socket = getSocket();
    let cancelled = false;
    socket.on('replay', upsert);
    api.replays().then(
      (list) => {
        if (!cancelled) for (const r of list) upsert(r);
      },
      () => {
        // The list is a convenience; starting a replay still works without it.
      },
    );
    return () => {
      cancelled = true;
      socket.off('replay', upsert);
    };
  }, [upsert]);
  return { replays, upsert };
}

/** Re-renders every `ms` so "5 min ago" labels and the live chart's moving left edge stay true. */
export function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** Settings the server decides at run time (the page itself is built ahead of time). */
export interface UiConfig {
  /** Null until the server has said: every scored image stays hidden meanwhile. */
  explicitThreshold: number | null;
}

export const UI_CONFIG_PATH = '/ui-config.json';

export function useUiConfig(): UiConfig {
  const [config, setConfig] = useState<UiConfig>({ explicitThreshold: null });
  useEffect(() => {
    let cancelled = false;
    fetch(UI_CONFIG_PATH)
      .then((res) => (res.ok ? (res.json() as Promise<{ explicitThreshold?: unknown }>) : null))
      .then(
        (body) => {
          if (cancelled) return;
          // Without a usable setting, threshold 0 keeps every scored image behind its click (the safe side).
          setConfig({ explicitThreshold: typeof body?.explicitThreshold === 'number' ? body.explicitThreshold : 0 });
        },
        () => {
          if (!cancelled) setConfig({ explicitThreshold: 0 });
        },
      );
    return () => {
      cancelled = true;
    };
  }, []);
  return config;
}

/** False during server rendering and the first client render, so time-dependent output never mismatches. */
export function useMounted(): boolean {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  return mounted;
}
