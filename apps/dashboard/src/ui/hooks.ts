import { useCallback, useEffect, useState } from 'react';
import { WINDOW_MS, type Alert, type Moment, type ReplayStatus, type SeriesPoint, type SeriesUpdate, type TopicSummary, type WatchedTopicsResponse, type WindowSize } from '@moodstream/events';
import { mergeAlert, mergeAlerts } from './alerts';
import { api, describeError, isBadAnswer } from './api';
import { liveEventApi } from './live-event-api';
import { mergePoint, updateMatches, type SeriesSelection } from './series';
import { followServerEvent, getSocket } from './socket';
import { RANGE_MS, liveSpan } from './windows';

export type Loadable<T> =
  | { status: 'loading'; data: T | null }
  | { status: 'ready'; data: T }
  | { status: 'error'; data: T | null; error: string };

/**
 * New data for what is already shown. A standing error stays until the user reloads: otherwise the next good push
 * would hide that an earlier one was refused and the view may be missing it.
 */
function withData<T>(prev: Loadable<T>, data: T): Loadable<T> {
  return prev.status === 'error' ? { ...prev, data } : { status: 'ready', data };
}

function failed<T>(prev: Loadable<T>, error: string): Loadable<T> {
  return { status: 'error', data: prev.data, error };
}

/** What a hook's effect tracks while its snapshot loads: pushes to merge in afterwards, and a push it refused. */
interface SnapshotGate<P> {
  cancelled: boolean;
  /** Pushes that arrived before the snapshot; null once it has settled (pushes then apply directly). */
  pending: P[] | null;
  /** Why a push was refused since the last fetch; the snapshot must not paper over it. */
  refused: string | null;
}

/** Settles a hook's state from a fetched snapshot merged with the pushes that arrived while it loaded. */
function settleSnapshot<S, P, T>(
  gate: SnapshotGate<P>,
  fetched: Promise<S>,
  merge: (snapshot: S, pending: P[]) => T,
  setState: (update: (prev: Loadable<T>) => Loadable<T>) => void,
): void {
  fetched.then(
    (snapshot) => {
      if (gate.cancelled) return;
      const data = merge(snapshot, gate.pending ?? []);
      gate.pending = null;
      const refused = gate.refused;
      setState(() => (refused === null ? { status: 'ready', data } : { status: 'error', data, error: refused }));
    },
    (error: unknown) => {
      if (gate.cancelled) return;
      gate.pending = null;
      setState((prev) => failed(prev, describeError(error)));
    },
  );
}

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
    const gate: SnapshotGate<SeriesPoint> = { cancelled: false, pending: [], refused: null };

    const onUpdate = (update: SeriesUpdate) => {
      if (!updateMatches(update, selection)) return;
      if (request.to !== undefined && update.point.start >= request.to) return;
      if (gate.pending !== null) {
        gate.pending.push(update.point);
        return;
      }
      setState((prev) => {
        const points = prev.data ?? [];
        const merged = mergePoint(points, update.point, leftEdge());
        return merged === points && prev.status !== 'loading' ? prev : withData(prev, merged);
      });
    };
    const onInvalid = (error: string) => {
      gate.refused = error;
      setState((prev) => failed(prev, error));
    };
    const watch = () => socket.emit('watch', selection);
    const load = () => {
      const live = liveSpan(Date.now(), request.window, request.rangeMs ?? RANGE_MS['1h']);
      const to = request.to ?? live.to;
      const from = request.from ?? live.from;
      setState((prev) => ({ status: 'loading', data: prev.data }));
      settleSnapshot(
        gate,
        api.series({ topic: selection.topic, window: selection.window, from, to, replay: selection.replay }),
        (res, pending) => pending.reduce((points, p) => mergePoint(points, p, leftEdge()), res.points.slice().sort((a, b) => a.start - b.start)),
        setState,
      );
    };
    const refresh = () => {
      // The server forgets a socket's selection when it disconnects: (re)state it whenever connected.
      if (socket.connected) watch();
      gate.pending = [];
      // The fresh fetch supersedes whatever was refused while connected before.
      gate.refused = null;
      load();
    };

    setState({ status: 'loading', data: null });
    const stop = followServerEvent(socket, 'series', { onPush: onUpdate, onInvalid, refresh });
    return () => {
      gate.cancelled = true;
      stop();
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
    // Each push is the whole list, so a good one fully replaces whatever was refused before.
    const stop = followServerEvent(socket, 'topics', {
      onPush: (topics) => setState({ status: 'ready', data: topics }),
      onInvalid: (error) => setState((prev) => failed(prev, error)),
      refresh: () =>
        api.topics().then(
          (topics) => {
            if (!cancelled) setState({ status: 'ready', data: topics });
          },
          (error: unknown) => {
            if (!cancelled) setState((prev) => failed(prev, describeError(error)));
          },
        ),
    });
    return () => {
      cancelled = true;
      stop();
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
    const gate: SnapshotGate<Alert> = { cancelled: false, pending: [], refused: null };
    const onAlert = (alert: Alert) => {
      if ((alert.replayId ?? null) !== replay) return;
      if (gate.pending !== null) gate.pending.push(alert);
      else setState((prev) => withData(prev, mergeAlert(prev.data ?? [], alert)));
    };
    const onInvalid = (error: string) => {
      gate.refused = error;
      setState((prev) => failed(prev, error));
    };
    // An alert pushed before the socket first connected (after the fetch left) reached no one either: each fetch,
    // the first and every reconnect's, holds the pushes that arrive meanwhile and merges them after it. Live and
    // replay alerts may share a store; each feed shows only its own.
    const refresh = () => {
      gate.pending = [];
      gate.refused = null;
      settleSnapshot(gate, api.alerts({ replay, limit: 100 }), (alerts, pending) => mergeAlerts(mergeAlerts([], alerts.filter((a) => (a.replayId ?? null) === replay)), pending), setState);
    };
    setState({ status: 'loading', data: null });
    const stop = followServerEvent(socket, 'alert', { onPush: onAlert, onInvalid, refresh });
    return () => {
      gate.cancelled = true;
      stop();
    };
  }, [replay]);

  const acknowledge = useCallback(async (id: string) => {
    const stored = await api.acknowledge(id);
    setState((prev) => (prev.data === null ? prev : { ...prev, data: prev.data.map((a) => (a.id === stored.id ? stored : a)) }));
  }, []);

  return { state, acknowledge };
}

/**
 * Replay statuses by id, kept current by `replay` pushes. `error` says why a push or the list was refused: the
 * statuses shown may then be stale.
 */
export function useReplays(): { replays: ReplayStatus[]; upsert: (status: ReplayStatus) => void; error: string | null } {
  const [replays, setReplays] = useState<ReplayStatus[]>([]);
  const [error, setError] = useState<string | null>(null);
  const upsert = useCallback((status: ReplayStatus) => {
    setReplays((prev) => {
      const rest = prev.filter((r) => r.id !== status.id);
      return [status, ...rest].sort((a, b) => b.startedAt - a.startedAt);
    });
  }, []);
  useEffect(() => {
    const socket = getSocket();
    let cancelled = false;
    const refresh = () =>
      api.replays().then(
        (list) => {
          if (!cancelled) for (const r of list) upsert(r);
        },
        (failure: unknown) => {
          // The list is a convenience (starting a replay works without it), so only an answer that breaks the contract
          // is worth showing: that one would break the pushes too.
          if (!cancelled && isBadAnswer(failure)) setError(describeError(failure));
        },
      );
    const stop = followServerEvent(socket, 'replay', { onPush: upsert, onInvalid: setError, refresh });
    return () => {
      cancelled = true;
      stop();
    };
  }, [upsert]);
  return { replays, upsert, error };
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

/** Settings the server decides at run time (the page itself is built ahead of time), as far as they are known. */
export interface UiSettings {
  /** Null until the server has said: every scored image stays hidden meanwhile. */
  explicitThreshold: number | null;
  /** Why the settings could not be read; the threshold is then 0. */
  error: string | null;
}

export function useUiConfig(): UiSettings {
  const [settings, setSettings] = useState<UiSettings>({ explicitThreshold: null, error: null });
  useEffect(() => {
    let cancelled = false;
    api.uiConfig().then(
      (config) => {
        if (!cancelled) setSettings({ explicitThreshold: config.explicitThreshold, error: null });
      },
      (error: unknown) => {
        // Without a usable setting, threshold 0 keeps every scored image behind its click (the safe side).
        if (!cancelled) setSettings({ explicitThreshold: 0, error: describeError(error) });
      },
    );
    return () => {
      cancelled = true;
    };
  }, []);
  return settings;
}

/** False during server rendering and the first client render, so time-dependent output never mismatches. */
export function useMounted(): boolean {
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);
  return mounted;
}

/**
 * Moments marked between `from` and `to`, kept live by `moment` pushes (any viewer's mark shows on every chart at
 * once). A moment outside the range is ignored; one removed anywhere goes here too.
 */
export function useMoments(range: { from: number; to: number } | null): Loadable<Moment[]> {
  const [state, setState] = useState<Loadable<Moment[]>>({ status: 'loading', data: null });
  // Re-fetched when the range moves by a minute or more, not on every tick of a live chart's left edge.
  const key = range === null ? null : `${Math.floor(range.from / WINDOW_MS['1m'])}:${Math.ceil(range.to / WINDOW_MS['1m'])}`;
  useEffect(() => {
    if (range === null) return;
    const socket = getSocket();
    let cancelled = false;
    const inRange = (m: Moment) => m.at >= range.from && m.at < range.to + WINDOW_MS['1m'];
    const stop = followServerEvent(socket, 'moment', {
      onPush: (update) => {
        setState((prev) => {
          const rest = (prev.data ?? []).filter((m) => m.id !== update.moment.id);
          const next = update.action === 'added' && inRange(update.moment) ? [...rest, update.moment].sort((a, b) => a.at - b.at) : rest;
          return withData(prev, next);
        });
      },
      onInvalid: (error) => setState((prev) => failed(prev, error)),
      refresh: () =>
        liveEventApi.moments(range.from, range.to + WINDOW_MS['1m']).then(
          (moments) => {
            if (!cancelled) setState((prev) => withData(prev, moments));
          },
          (error: unknown) => {
            if (!cancelled) setState((prev) => failed(prev, describeError(error)));
          },
        ),
    });
    return () => {
      cancelled = true;
      stop();
    };
    // `key` stands for the range, rounded to the minute.
  }, [key]);
  return state;
}

/** The watched-topic registry and the request budget, re-read every `everyMs` (the ingester reports each poll). */
export function useWatchedTopics(everyMs = 5_000): { state: Loadable<WatchedTopicsResponse>; reload: () => void } {
  const [state, setState] = useState<Loadable<WatchedTopicsResponse>>({ status: 'loading', data: null });
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  useEffect(() => {
    let cancelled = false;
    const load = () =>
      liveEventApi.watchedTopics().then(
        (data) => {
          if (!cancelled) setState({ status: 'ready', data });
        },
        (error: unknown) => {
          if (!cancelled) setState((prev) => failed(prev, describeError(error)));
        },
      );
    void load();
    const timer = setInterval(() => void load(), everyMs);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [everyMs, generation]);
  return { state, reload };
}

/**
 * One topic's buckets for a compare view, re-fetched every `everyMs`: several charts at once cannot each hold the
 * page's one live `watch` selection, and a few seconds is live enough side by side.
 */
export function usePolledSeries(request: { topic: string; window: WindowSize; rangeMs: number } | null, everyMs = 5_000): Loadable<SeriesPoint[]> {
  const [state, setState] = useState<Loadable<SeriesPoint[]>>({ status: 'loading', data: null });
  const key = request === null ? null : JSON.stringify(request);
  useEffect(() => {
    if (request === null) return;
    let cancelled = false;
    const load = () => {
      const { from, to } = liveSpan(Date.now(), request.window, request.rangeMs);
      api.series({ topic: request.topic, window: request.window, from, to }).then(
        (res) => {
          if (!cancelled) setState({ status: 'ready', data: res.points.slice().sort((a, b) => a.start - b.start) });
        },
        (error: unknown) => {
          if (!cancelled) setState((prev) => failed(prev, describeError(error)));
        },
      );
    };
    setState({ status: 'loading', data: null });
    load();
    const timer = setInterval(load, everyMs);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
    // `key` stands for every field of `request`.
  }, [key, everyMs]);
  return state;
}
