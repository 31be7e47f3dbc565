'use client';

import { useCallback, useEffect, useMemo, useState } from 'react';
import { ALL_TOPICS, bucketStart, type Alert, type Emotion, type SeriesPoint, type TopicSummary, type WindowSize } from '@moodstream/events';
import { AlertFeed } from './AlertFeed';
import { CompareView } from './CompareView';
import { viewForAlert } from './alerts';
import { EmotionChart } from './EmotionChart';
import { ExportBar } from './ExportBar';
import { formatCount, formatPercent, formatTime } from './format';
import { useAlerts, useMoments, useMounted, useNow, useSeries, useTopics, useUiConfig, type Loadable } from './hooks';
import { EmotionDot, Legend } from './Legend';
import { EMOTION_LABELS } from './palette';
import { MomentsPanel } from './MomentsPanel';
import { useModelVersionChanges } from './model-versions';
import { PostsPanel } from './PostsPanel';
import { RulesPanel } from './RulesPanel';
import { Segmented } from './Segmented';
import { hasCorrected, isPartial, lastComplete, leadingEmotion, toChartRows, totalCount, type ShareMode } from './series';
import { Empty, ErrorBox, Loading } from './States';
import { TopBar } from './TopBar';
import { TopicsPanel } from './TopicsPanel';
import { DEFAULT_VIEW, MAX_COMPARE, parseViewState, viewStateQuery, type LiveViewState } from './url-state';
import { LIVE_WINDOWS, RANGES, RANGE_MS, allowedWindows, fitWindow, liveSpan } from './windows';

/** The live view: the chosen topic's six emotion shares over time, the alert feed and the posts drill-down. */
export function Dashboard() {
  const mounted = useMounted();
  const [view, setView] = useState<LiveViewState>(DEFAULT_VIEW);
  const [hidden, setHidden] = useState<ReadonlySet<Emotion>>(new Set());
  const now = useNow(5_000);
  const uiConfig = useUiConfig();
  const topics = useTopics();
  const alerts = useAlerts(null);

  // The URL is the source of truth on load and on back/forward; every change is mirrored into it.
  useEffect(() => {
    setView(parseViewState(window.location.search));
    const onPop = () => setView(parseViewState(window.location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((next: LiveViewState, push = false) => {
    setView(next);
    const url = `${window.location.pathname}${viewStateQuery(next)}`;
    if (push) window.history.pushState(null, '', url);
    else window.history.replaceState(null, '', url);
  }, []);

  const rangeMs = RANGE_MS[view.range];
  const { state: series, reload } = useSeries(mounted ? { topic: view.topic, window: view.window, replay: null, rangeMs } : null);
  const points = series.data ?? [];
  const rows = useMemo(() => toChartRows(points, view.mode, { window: view.window, now }), [points, view.mode, view.window, now]);
  const { from, to } = liveSpan(now, view.window, rangeMs);
  const moments = useMoments(mounted ? { from, to } : null);
  const versionChanges = useModelVersionChanges(mounted ? { topic: view.topic, from, to } : null);
  const comparing = view.compare.length > 0;
  const latest = points[points.length - 1];
  const correctedAvailable = hasCorrected(points);

  const showAlert = useCallback(
    (alert: Alert, posts: boolean) => {
      navigate(viewForAlert(alert, Date.now(), posts), true);
      document.getElementById(posts ? 'posts' : 'chart')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
    },
    [navigate],
  );

  return (
    <>
      <TopBar current="live" />
      <main className="page">
        <section className="controls" aria-label="Chart settings">
          <TopicPicker topics={topics} value={view.topic} onChange={(topic) => navigate({ ...view, topic, at: null, posts: false })} />
          <Segmented
            label="Window"
            options={LIVE_WINDOWS}
            value={view.window}
            disabled={(w) => !allowedWindows(view.range).includes(w)}
            onChange={(window) => navigate({ ...view, window })}
            testId="window-picker"
          />
          <Segmented label="Range" options={RANGES} value={view.range} onChange={(range) => navigate({ ...view, range, window: fitWindow(range, view.window) })} testId="range-picker" />
          <ComparePicker topics={topics} value={view.compare} current={view.topic} onChange={(compare) => navigate({ ...view, compare, at: null, posts: false }, true)} />
          <Segmented<ShareMode>
            label="Shares"
            options={['raw', 'corrected']}
            value={view.mode}
            disabled={(m) => m === 'corrected' && !correctedAvailable && view.mode !== 'corrected'}
            onChange={(mode) => navigate({ ...view, mode })}
            testId="mode-picker"
          />
        </section>

        <Summary
          points={points}
          mode={view.mode}
          window={view.window}
          now={now}
          rangeLabel={view.range}
          loading={series.status === 'loading' && points.length === 0}
          onOpenLatest={(start) => navigate({ ...view, at: start, posts: true, emotion: null }, true)}
        />

        <div className="layout">
          <section className="card chart-card" id="chart" aria-label="Emotion shares over time">
            <div className="card-head">
              <h1>
                {comparing ? `Comparing ${view.compare.length} topics` : view.topic === ALL_TOPICS ? 'All topics' : `#${view.topic}`}
                <span className="dim"> · share of each emotion per {view.window} bucket{view.mode === 'corrected' ? ' (confusion-corrected)' : ', 95% bands'}</span>
              </h1>
            </div>
            <Legend hidden={hidden} onToggle={(e) => setHidden((prev) => toggle(prev, e))} />
            {mounted && <ExportBar topic={view.topic} window={view.window} from={from} to={to} />}
            {mounted && comparing && (
              <CompareView
                topics={view.compare}
                window={view.window}
                rangeMs={rangeMs}
                mode={view.mode}
                from={from}
                to={to}
                now={now}
                hidden={hidden}
                moments={moments.data ?? []}
                onOpen={(topic) => navigate({ ...view, topic, compare: [] }, true)}
              />
            )}
            <div hidden={comparing} className="chart-area" data-testid="chart" data-state={series.status} data-points={points.length} data-latest-start={latest?.start ?? ''}>
              {mounted && series.status !== 'error' && points.length > 0 && (
                <EmotionChart rows={rows} mode={view.mode} window={view.window} from={from} to={to} hidden={hidden} highlight={view.at} moments={moments.data ?? []} versionChanges={versionChanges.data ?? []} onSelectBucket={(start) => navigate({ ...view, at: start, posts: true, emotion: null }, true)} />
              )}
              {(!mounted || (series.status === 'loading' && points.length === 0)) && <Loading label="Loading the chart…" testId="chart-loading" />}
              {series.status === 'error' && <ErrorBox message={`The chart could not load: ${series.error}`} onRetry={reload} testId="chart-error" />}
              {mounted && series.status === 'ready' && points.length === 0 && (
                <Empty testId="chart-empty">
                  No posts {view.topic === ALL_TOPICS ? '' : `tagged #${view.topic} `}in the last {view.range} yet. The chart fills in as posts are scored — no reload needed.
                </Empty>
              )}
            </div>
            {view.mode === 'corrected' && !correctedAvailable && points.length > 0 && <p className="note">Corrected shares need the model&apos;s confusion matrix; this data has none.</p>}
          </section>

          <aside className="card alerts-card" aria-label="Spike alerts">
            <div className="card-head">
              <h2>Alerts</h2>
              <span className="dim">{alerts.state.data !== null ? `${alerts.state.data.filter((a) => !a.acknowledged).length} open` : ''}</span>
            </div>
            <AlertFeed state={alerts.state} now={now} hrefFor={(a, posts) => `/${viewStateQuery(viewForAlert(a, now, posts))}`} onShow={showAlert} onAcknowledge={alerts.acknowledge} />
            <MomentsPanel state={moments} onShow={(m) => navigate({ ...view, at: m.at, posts: false }, true)} />
          </aside>

          <div className="posts-slot" id="posts">
            {view.posts && view.at !== null ? (
              <PostsPanel
                topic={view.topic}
                window={view.window}
                start={bucketStart(view.at, view.window)}
                emotion={view.emotion}
                replay={null}
                explicitThreshold={uiConfig.explicitThreshold}
                settingsError={uiConfig.error}
                onEmotionChange={(emotion) => navigate({ ...view, emotion })}
                onClose={() => navigate({ ...view, posts: false, emotion: null })}
              />
            ) : (
              <p className="hint">Click a point on the chart to read the posts behind it.</p>
            )}
          </div>
        </div>

        <div className="live-tools">
          <TopicsPanel onOpen={(topic) => navigate({ ...view, topic, compare: [], at: null, posts: false }, true)} />
          <section className="card live-panel" aria-label="Alert rule">
            <RulesPanel topic={view.topic} />
          </section>
        </div>
      </main>
    </>
  );
}

function toggle(set: ReadonlySet<Emotion>, e: Emotion): ReadonlySet<Emotion> {
  const next = new Set(set);
  if (next.has(e)) next.delete(e);
  else next.add(e);
  return next;
}

function TopicPicker({ topics, value, onChange }: { topics: Loadable<TopicSummary[]>; value: string; onChange: (topic: string) => void }) {
  const list = (topics.data ?? []).filter((t) => t.topic !== ALL_TOPICS).sort((a, b) => b.count - a.count || a.topic.localeCompare(b.topic));
  const known = value === ALL_TOPICS || list.some((t) => t.topic === value);
  return (
    <label className="topic-picker">
      <span className="control-label">Topic</span>
      <select value={value} onChange={(e) => onChange(e.target.value)} data-testid="topic-picker">
        <option value={ALL_TOPICS}>All topics</option>
        {!known && <option value={value}>#{value}</option>}
        {list.map((t) => (
          <option key={t.topic} value={t.topic}>
            #{t.topic} ({formatCount(t.count)})
          </option>
        ))}
      </select>
      {topics.status === 'error' && <span className="inline-error">topics unavailable</span>}
    </label>
  );
}

/** Topics to show side by side (small multiples on one time axis); the URL keeps the choice. */
function ComparePicker({ topics, value, current, onChange }: { topics: Loadable<TopicSummary[]>; value: string[]; current: string; onChange: (compare: string[]) => void }) {
  const list = [ALL_TOPICS, ...(topics.data ?? []).filter((t) => t.topic !== ALL_TOPICS).map((t) => t.topic)];
  for (const t of value) if (!list.includes(t)) list.push(t);
  return (
    <label className="topic-picker">
      <span className="control-label">Compare (Ctrl-click several)</span>
      <select
        multiple
        size={3}
        value={value}
        onChange={(e) => onChange([...e.target.selectedOptions].map((o) => o.value).slice(0, MAX_COMPARE))}
        data-testid="compare-picker"
        aria-label="Topics to compare"
      >
        {list.map((t) => (
          <option key={t} value={t}>
            {t === ALL_TOPICS ? 'All topics' : `#${t}`}
            {t === current ? ' (shown)' : ''}
          </option>
        ))}
      </select>
      {value.length > 0 && (
        <button type="button" className="linkish small" onClick={() => onChange([])} data-testid="compare-clear">
          back to one topic
        </button>
      )}
    </label>
  );
}

function Summary({
  points,
  mode,
  window,
  now,
  rangeLabel,
  loading,
  onOpenLatest,
}: {
  points: SeriesPoint[];
  mode: ShareMode;
  window: WindowSize;
  now: number;
  rangeLabel: string;
  loading: boolean;
  onOpenLatest: (start: number) => void;
}) {
  const latest = points[points.length - 1];
  const filling = latest !== undefined && isPartial(latest, window, now);
  // The leading mood is read from the last complete window: the newest one may hold a single post.
  const complete = lastComplete(points, window, now);
  const lead = complete !== undefined ? leadingEmotion(complete, mode) : null;
  const leadShare = complete !== undefined && lead !== null ? (mode === 'corrected' && complete.corrected !== null ? complete.corrected[lead] : complete.shares[lead].share) : null;
  return (
    <section className="summary" aria-label="Summary">
      <div className="stat">
        <span className="stat-label">Posts · last {rangeLabel}</span>
        <span className="stat-value" data-testid="total-count">
          {loading ? '…' : formatCount(totalCount(points))}
        </span>
      </div>
      <div className="stat">
        <span className="stat-label">
          Newest bucket
          {filling && (
            <span className="dim" data-testid="latest-partial">
              {' '}
              · still filling
            </span>
          )}
        </span>
        <span className="stat-value" data-testid="chart-latest-time" data-start={latest?.start ?? ''}>
          {latest !== undefined ? (
            // Also the keyboard's way into the drill-down: the chart itself is mouse and touch only.
            <button type="button" className="linkish stat-link" onClick={() => onOpenLatest(latest.start)} title="Read the posts in the newest bucket">
              {formatTime(latest.start, 0)}
            </button>
          ) : (
            '–'
          )}
        </span>
      </div>
      <div className="stat">
        <span className="stat-label">Posts in it</span>
        <span className="stat-value" data-testid="latest-count">
          {latest !== undefined ? formatCount(latest.count) : '–'}
        </span>
      </div>
      <div className="stat">
        <span className="stat-label">Leading mood{complete !== undefined ? ` · ${formatTime(complete.start, 0)}` : ''}</span>
        <span className="stat-value" data-testid="leading-emotion" data-start={complete?.start ?? ''}>
          {lead !== null && leadShare !== null ? (
            <>
              <EmotionDot emotion={lead} /> {EMOTION_LABELS[lead]} {formatPercent(leadShare, 0)}
            </>
          ) : (
            '–'
          )}
        </span>
      </div>
    </section>
  );
}
