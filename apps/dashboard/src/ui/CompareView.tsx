'use client';

import { useMemo } from 'react';
import { ALL_TOPICS, type Emotion, type Moment } from '@moodstream/events';
import { EmotionChart } from './EmotionChart';
import { formatCount } from './format';
import { usePolledSeries } from './hooks';
import { toChartRows, totalCount, type ShareMode } from './series';
import { Empty, ErrorBox, Loading } from './States';
import type { LiveWindow } from './windows';

export interface CompareViewProps {
  topics: readonly string[];
  window: LiveWindow;
  rangeMs: number;
  mode: ShareMode;
  from: number;
  to: number;
  now: number;
  hidden: ReadonlySet<Emotion>;
  moments: readonly Moment[];
  onOpen: (topic: string) => void;
}

/** Several topics on one screen: one small chart each, all on the same time axis, shares with their 95% bands. */
export function CompareView(props: CompareViewProps) {
  return (
    <div className="compare-grid" data-testid="compare-view" data-topics={props.topics.join('|')}>
      {props.topics.map((topic) => (
        <CompareChart key={topic} topic={topic} {...props} />
      ))}
    </div>
  );
}

function CompareChart({ topic, window, rangeMs, mode, from, to, now, hidden, moments, onOpen }: CompareViewProps & { topic: string }) {
  const state = usePolledSeries({ topic, window, rangeMs });
  const points = state.data ?? [];
  const rows = useMemo(() => toChartRows(points, mode, { window, now }), [points, mode, window, now]);
  return (
    <section className="compare-cell" data-testid="compare-chart" data-topic={topic} data-state={state.status} data-points={points.length}>
      <div className="card-head">
        <h3>
          <button type="button" className="linkish" onClick={() => onOpen(topic)} title="Open this topic alone">
            {topic === ALL_TOPICS ? 'All topics' : `#${topic}`}
          </button>
        </h3>
        <span className="dim small">{formatCount(totalCount(points))} posts</span>
      </div>
      {points.length > 0 && <EmotionChart rows={rows} mode={mode} window={window} from={from} to={to} hidden={hidden} highlight={null} height={170} moments={moments} />}
      {state.status === 'loading' && points.length === 0 && <Loading label="Loading…" />}
      {state.status === 'error' && <ErrorBox message={`Could not load #${topic}: ${state.error}`} />}
      {state.status === 'ready' && points.length === 0 && <Empty>No posts for #{topic} in this range yet.</Empty>}
    </section>
  );
}
