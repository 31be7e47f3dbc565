'use client';

import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { ALL_TOPICS, bucketStart, type Alert, type Emotion, type ReplayStatus } from '@moodstream/events';
import { AlertFeed } from './AlertFeed';
import { api, describeError } from './api';
import { EmotionChart } from './EmotionChart';
import { WITH_DATE, formatCount, formatPercent, formatTime, fromDateTimeLocal, toDateTimeLocal } from './format';
import { useAlerts, useMoments, useMounted, useNow, useReplays, useSeries, useTopics, useUiConfig } from './hooks';
import { Legend } from './Legend';
import { PostsPanel } from './PostsPanel';
import { toChartRows } from './series';
import { Empty, ErrorBox, Loading } from './States';
import { TopBar } from './TopBar';
import { RANGE_MS, windowForSpan } from './windows';

export const REPLAY_SPEEDS = ['1', '10', '60', '600', '3600', 'max'] as const;
type SpeedOption = (typeof REPLAY_SPEEDS)[number];

/** Replay: re-run a topic's past into an isolated namespace and watch its chart and alerts unfold. */
export function ReplayView() {
  const mounted = useMounted();
  const now = useNow(5_000);
  const topics = useTopics();
  const uiConfig = useUiConfig();
  const { replays, upsert, error: replaysError } = useReplays();
  const [topic, setTopic] = useState<string>(ALL_TOPICS);
  const [fromText, setFromText] = useState('');
  const [toText, setToText] = useState('');
  const [speed, setSpeed] = useState<SpeedOption>('60');
  /** Empty: replay the stored scores; a model-registry version (or `default`): re-score the posts with it. */
  const [modelVersion, setModelVersion] = useState('');
  const [activeId, setActiveId] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [hidden, setHidden] = useState<ReadonlySet<Emotion>>(new Set());
  const [selected, setSelected] = useState<{ start: number; emotion: Emotion | null } | null>(null);

  // Defaults need the browser's clock and zone, so they are filled in after mount.
  useEffect(() => {
    const end = Date.now();
    setFromText(toDateTimeLocal(end - RANGE_MS['1h']));
    setToText(toDateTimeLocal(end));
  }, []);

  const active = replays.find((r) => r.id === activeId) ?? null;
  const span = active !== null ? active.to - active.from : RANGE_MS['1h'];
  const window = windowForSpan(span);
  const { state: series, reload } = useSeries(active !== null ? { topic: active.topic, window, replay: active.id, from: active.from, to: active.to } : null);
  // Moments marked live are kept by time, so a replay of that time draws them too.
  const moments = useMoments(active !== null ? { from: active.from, to: active.to } : null);
  const points = series.data ?? [];
  const rows = useMemo(() => toChartRows(points, 'raw'), [points]);
  const alerts = useAlerts(activeId);

  const start = async (event: FormEvent) => {
    event.preventDefault();
    const from = fromDateTimeLocal(fromText);
    const to = fromDateTimeLocal(toText);
    if (!Number.isFinite(from) || !Number.isFinite(to)) return setFormError('Choose both a start and an end time.');
    if (to <= from) return setFormError('The end must be after the start.');
    setFormError(null);
    setBusy(true);
    try {
      const version = modelVersion.trim();
      const rescore = version === '' ? {} : { rescore: true, modelVersion: version };
      const status = await api.startReplay({ topic, from, to, speed: speed === 'max' ? 'max' : Number(speed), ...rescore });
      upsert(status);
      setActiveId(status.id);
      setSelected(null);
    } catch (error) {
      setFormError(describeError(error));
    } finally {
      setBusy(false);
    }
  };

  const act = async (action: 'pause' | 'resume' | 'stop') => {
    if (active === null) return;
    setBusy(true);
    try {
      upsert(await api.replayAction(active.id, action));
    } catch (error) {
      setFormError(describeError(error));
    } finally {
      setBusy(false);
    }
  };

  const topicList = (topics.data ?? []).filter((t) => t.topic !== ALL_TOPICS).sort((a, b) => b.count - a.count);

  return (
    <>
      <TopBar current="replay" />
      <main className="page">
        <div className="layout replay-layout">
          <section className="card replay-form-card" aria-label="Start a replay">
            <div className="card-head">
              <h1>Replay a topic&apos;s past</h1>
            </div>
            <p className="dim small">Re-reads stored posts into an isolated namespace — live trends are untouched — and shows the chart and alerts as they would have happened.</p>
            <form className="replay-form" onSubmit={start}>
              <label>
                <span className="control-label">Topic</span>
                <select value={topic} onChange={(e) => setTopic(e.target.value)} data-testid="replay-topic">
                  <option value={ALL_TOPICS}>All topics</option>
                  {topicList.map((t) => (
                    <option key={t.topic} value={t.topic}>
                      #{t.topic}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                <span className="control-label">From</span>
                <input type="datetime-local" value={fromText} onChange={(e) => setFromText(e.target.value)} data-testid="replay-from" required />
              </label>
              <label>
                <span className="control-label">To</span>
                <input type="datetime-local" value={toText} onChange={(e) => setToText(e.target.value)} data-testid="replay-to" required />
              </label>
              <label>
                <span className="control-label">Speed</span>
                <select value={speed} onChange={(e) => setSpeed(e.target.value as SpeedOption)} data-testid="replay-speed">
                  {REPLAY_SPEEDS.map((s) => (
                    <option key={s} value={s}>
                      {s === 'max' ? 'as fast as possible' : `${s}× real time`}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                <span className="control-label">Re-score with model</span>
                <input type="text" value={modelVersion} onChange={(e) => setModelVersion(e.target.value)} placeholder="no: stored scores" maxLength={64} data-testid="replay-model-version" />
              </label>
              <button type="submit" className="btn btn-primary" disabled={busy || !mounted} data-testid="replay-start">
                ▶ Play
              </button>
            </form>
            {formError !== null && <ErrorBox message={formError} testId="replay-error" />}
            {replaysError !== null && <ErrorBox message={`Replay progress unavailable: ${replaysError}`} testId="replay-updates-error" />}
            {replays.length > 0 && (
              <details className="past-replays">
                <summary>Earlier replays ({replays.length})</summary>
                <ul>
                  {replays.map((r) => (
                    <li key={r.id}>
                      <button type="button" className="linkish" onClick={() => { setActiveId(r.id); setSelected(null); }}>
                        {r.topic === ALL_TOPICS ? 'all topics' : `#${r.topic}`} · {formatTime(r.from, WITH_DATE)} → {formatTime(r.to, WITH_DATE)} · {r.state}
                      </button>
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </section>

          <section className="card chart-card" id="replay-chart" aria-label="Replayed emotion shares">
            {active === null ? (
              <Empty testId="replay-idle">Pick a topic and a time range, then press Play. The chart below fills in as the replay runs.</Empty>
            ) : (
              <>
                <ReplayControls status={active} busy={busy} now={now} onAction={act} />
                <Legend hidden={hidden} onToggle={(e) => setHidden((prev) => { const next = new Set(prev); if (next.has(e)) next.delete(e); else next.add(e); return next; })} />
                <div className="chart-area" data-testid="chart" data-state={series.status} data-points={points.length} data-latest-start={points[points.length - 1]?.start ?? ''}>
                  {series.status === 'error' && <ErrorBox message={`The replay chart could not load: ${series.error}`} onRetry={reload} />}
                  {series.status !== 'error' && points.length > 0 && (
                    <EmotionChart rows={rows} mode="raw" window={window} from={active.from} to={active.to} hidden={hidden} highlight={selected?.start ?? null} moments={moments.data ?? []} onSelectBucket={(s) => setSelected({ start: s, emotion: null })} />
                  )}
                  {series.status === 'loading' && points.length === 0 && <Loading label="Waiting for the first replayed bucket…" />}
                  {series.status === 'ready' && points.length === 0 && <Empty>No replayed buckets yet{active.state === 'done' ? ' — the range held no posts for this topic.' : '.'}</Empty>}
                </div>
              </>
            )}
          </section>

          <aside className="card alerts-card" aria-label="Replayed alerts">
            <div className="card-head">
              <h2>Replayed alerts</h2>
            </div>
            {activeId === null ? (
              <Empty>Alerts that fire during a replay show up here.</Empty>
            ) : (
              <AlertFeed
                state={alerts.state}
                now={now}
                hrefFor={() => '#replay-chart'}
                onShow={(a: Alert, posts: boolean) => setSelected(posts ? { start: a.window.start, emotion: a.emotion } : { start: a.window.start, emotion: null })}
                emptyText="No alerts fired in this replay so far."
              />
            )}
          </aside>

          <div className="posts-slot">
            {active !== null && selected !== null && (
              <PostsPanel
                topic={active.topic}
                window={window}
                start={bucketStart(selected.start, window)}
                emotion={selected.emotion}
                replay={active.id}
                explicitThreshold={uiConfig.explicitThreshold}
                settingsError={uiConfig.error}
                onEmotionChange={(emotion) => setSelected({ start: selected.start, emotion })}
                onClose={() => setSelected(null)}
              />
            )}
          </div>
        </div>
      </main>
    </>
  );
}

function ReplayControls({ status, busy, now, onAction }: { status: ReplayStatus; busy: boolean; now: number; onAction: (action: 'pause' | 'resume' | 'stop') => void }) {
  const finished = status.state === 'done' || status.state === 'stopped' || status.state === 'failed';
  const span = status.to - status.from;
  return (
    <div className="replay-status" data-testid="replay-status" data-replay-id={status.id}>
      <div className="card-head">
        <h2>
          {status.topic === ALL_TOPICS ? 'All topics' : `#${status.topic}`} <span className="dim">· {status.speed === 'max' ? 'max speed' : `${status.speed}×`}</span>
        </h2>
        <span className={`badge state-${status.state}`} data-testid="replay-state">
          {status.state}
        </span>
      </div>
      <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(status.progress * 100)} data-testid="replay-progress" data-progress={status.progress}>
        <div className="progress-fill" style={{ width: `${status.progress * 100}%` }} />
      </div>
      <div className="replay-meta dim">
        <span>{formatPercent(status.progress, 0)}</span>
        <span>replayed clock {formatTime(status.cursor, span)}</span>
        <span>{formatCount(status.processed)} posts</span>
        <span data-testid="replay-alert-count">{status.alerts} alerts</span>
        {status.modelVersion != null && <span data-testid="replay-model">re-scored with {status.modelVersion}</span>}
        {status.startedBy !== undefined && <span title="the dashboard instance running this replay">runs on {status.startedBy}</span>}
        {status.finishedAt !== null && <span>finished {Math.max(0, Math.round((now - status.finishedAt) / 1000))} s ago</span>}
      </div>
      {status.error !== null && <ErrorBox message={`Replay failed: ${status.error}`} />}
      <div className="replay-buttons">
        {status.state === 'running' && (
          <button type="button" className="btn" disabled={busy} onClick={() => onAction('pause')} data-testid="replay-pause">
            ❚❚ Pause
          </button>
        )}
        {status.state === 'paused' && (
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => onAction('resume')} data-testid="replay-resume">
            ▶ Resume
          </button>
        )}
        {!finished && (
          <button type="button" className="btn" disabled={busy} onClick={() => onAction('stop')} data-testid="replay-stop">
            ■ Stop
          </button>
        )}
      </div>
    </div>
  );
}

