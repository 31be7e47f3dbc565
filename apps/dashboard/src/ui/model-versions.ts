import { useEffect, useState } from 'react';
import { ModelVersionsResponseSchema, WINDOW_MS, type ModelVersionChange } from '@moodstream/events';
import { describeError, request } from './api';
import type { Loadable } from './hooks';
import { followServerEvent, getSocket } from './socket';

/** A topic's model versions first seen in a range (GET /api/model-versions), oldest first. */
export async function fetchModelVersions(topic: string, from: number, to: number): Promise<ModelVersionChange[]> {
  const q = new URLSearchParams({ topic, from: String(Math.max(0, Math.floor(from))), to: String(Math.floor(to)) });
  return (await request(`/api/model-versions?${q.toString()}`, ModelVersionsResponseSchema)).changes;
}

/** One entry per version (a push may repeat what the fetch returned), oldest first. */
function merged(list: readonly ModelVersionChange[], more: readonly ModelVersionChange[]): ModelVersionChange[] {
  const byVersion = new Map<string, ModelVersionChange>();
  for (const change of [...list, ...more]) byVersion.set(change.version, change);
  return [...byVersion.values()].sort((a, b) => a.at - b.at);
}

/**
 * The moments the model scoring `topic` changed between `from` and `to`, kept live by `modelVersion` pushes (a
 * promotion shows on the chart as soon as the aggregator sees the first post it scored). The first version ever
 * seen is no change and is left out.
 */
export function useModelVersionChanges(selection: { topic: string; from: number; to: number } | null): Loadable<ModelVersionChange[]> {
  const [state, setState] = useState<Loadable<ModelVersionChange[]>>({ status: 'loading', data: null });
  // Re-fetched when the topic changes or the range moves by a minute or more, as useMoments does.
  const key = selection === null ? null : `${selection.topic}:${Math.floor(selection.from / WINDOW_MS['1m'])}:${Math.ceil(selection.to / WINDOW_MS['1m'])}`;
  useEffect(() => {
    if (selection === null) return;
    const { topic, from } = selection;
    const to = selection.to + WINDOW_MS['1m'];
    let cancelled = false;
    let pushed: ModelVersionChange[] = [];
    const changesOnly = (list: readonly ModelVersionChange[]) => list.filter((c) => c.previous !== null);
    setState({ status: 'loading', data: null });
    const socket = getSocket();
    const stop = followServerEvent(socket, 'modelVersion', {
      onPush: (change) => {
        if (change.topic !== topic || change.at < from || change.at >= to || change.previous === null) return;
        pushed = merged(pushed, [change]);
        setState((prev) => {
          const data = merged(prev.data ?? [], [change]);
          return prev.status === 'error' ? { ...prev, data } : { status: 'ready', data };
        });
      },
      onInvalid: (error) => setState((prev) => ({ status: 'error', data: prev.data, error })),
      refresh: () =>
        fetchModelVersions(topic, from, to).then(
          (list) => {
            if (!cancelled) setState({ status: 'ready', data: merged(changesOnly(list), pushed) });
          },
          (error: unknown) => {
            if (!cancelled) setState((prev) => ({ status: 'error', data: prev.data, error: describeError(error) }));
          },
        ),
    });
    return () => {
      cancelled = true;
      stop();
    };
    // `key` stands for the selection, its range rounded to the minute.
  }, [key]);
  return state;
}
