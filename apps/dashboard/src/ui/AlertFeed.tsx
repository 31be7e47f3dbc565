'use client';

import { useState } from 'react';
import { ALL_TOPICS, type Alert, type AlertExplanation } from '@moodstream/events';
import { describeRise } from './alerts';
import { describeError } from './api';
import { formatAgo, formatBucket, formatCount, formatPercent, formatPValue, formatTime } from './format';
import type { Loadable } from './hooks';
import { EmotionDot } from './Legend';
import { EMOTION_COLORS, EMOTION_LABELS } from './palette';
import { Empty, ErrorBox, Loading } from './States';
import { AlertWordShift } from './WordShift';

export interface AlertFeedProps {
  state: Loadable<Alert[]>;
  now: number;
  /** Link target for an alert's moment on the chart; the click itself goes to `onShow`. */
  hrefFor?: (alert: Alert, posts: boolean) => string;
  onShow?: (alert: Alert, posts: boolean) => void;
  onAcknowledge?: (id: string) => Promise<void>;
  emptyText?: string;
}

export function AlertFeed({ state, now, hrefFor, onShow, onAcknowledge, emptyText }: AlertFeedProps) {
  const alerts = state.data ?? [];
  return (
    <div className="alert-feed" data-testid="alert-feed" aria-live="polite">
      {state.status === 'error' && <ErrorBox message={`Alerts unavailable: ${state.error}`} />}
      {state.status === 'loading' && alerts.length === 0 && <Loading label="Loading alerts…" />}
      {state.status !== 'loading' && alerts.length === 0 && state.status !== 'error' && (
        <Empty testId="alerts-empty">{emptyText ?? 'No spikes so far. Alerts appear here the moment an emotion rises significantly above its baseline.'}</Empty>
      )}
      <ol className="alert-list">
        {alerts.map((a) => (
          <AlertItem key={a.id} alert={a} now={now} hrefFor={hrefFor} onShow={onShow} onAcknowledge={onAcknowledge} />
        ))}
      </ol>
    </div>
  );
}

function AlertItem({ alert, now, hrefFor, onShow, onAcknowledge }: { alert: Alert; now: number } & Pick<AlertFeedProps, 'hrefFor' | 'onShow' | 'onAcknowledge'>) {
  const [acking, setAcking] = useState(false);
  const [ackError, setAckError] = useState<string | null>(null);
  const link = (posts: boolean, label: string, testId: string) =>
    hrefFor !== undefined ? (
      <a
        href={hrefFor(alert, posts)}
        data-testid={testId}
        onClick={(event) => {
          if (onShow === undefined || event.metaKey || event.ctrlKey || event.shiftKey) return;
          event.preventDefault();
          onShow(alert, posts);
        }}
      >
        {label}
      </a>
    ) : null;

  return (
    <li
      className={alert.acknowledged ? 'alert-item acked' : 'alert-item'}
      data-testid="alert-item"
      data-alert-id={alert.id}
      data-topic={alert.topic}
      data-emotion={alert.emotion}
      style={{ borderLeftColor: EMOTION_COLORS[alert.emotion] }}
    >
      <div className="alert-head">
        <EmotionDot emotion={alert.emotion} />
        <strong>{EMOTION_LABELS[alert.emotion]}</strong>
        <span className="alert-topic">
          on <span className="topic-name">{alert.topic === ALL_TOPICS ? 'all topics' : `#${alert.topic}`}</span>
        </span>
        <time className="alert-time" dateTime={new Date(alert.firedAt).toISOString()} title={new Date(alert.firedAt).toLocaleString()}>
          {alert.replayId !== null ? `fired ${formatTime(alert.firedAt, 0)} (replayed)` : formatAgo(alert.firedAt, now)}
        </time>
      </div>
      <div className="alert-body">
        <span className="alert-share">
          {formatPercent(alert.observed)} <span className="dim">vs {formatPercent(alert.expected)} expected</span>
        </span>
        <span className="dim">{describeRise(alert)}</span>
      </div>
      {alert.explanation !== undefined && <AlertWhy alert={alert} why={alert.explanation} />}
      {alert.wordShift !== undefined && <AlertWordShift shift={alert.wordShift} />}
      <div className="alert-meta dim">
        {alert.window.size} window {formatBucket(alert.window.start, alert.window.size)} · {formatCount(alert.count)} posts · z = {alert.statistic.toFixed(1)} · p = {formatPValue(alert.pValue)}
        {' < '}
        <span data-testid="alert-threshold">{formatPValue(alert.threshold)}</span> needed
      </div>
      <div className="alert-actions">
        {link(false, 'Show on chart', 'alert-show')}
        {link(true, 'Example posts', 'alert-posts')}
        {onAcknowledge !== undefined &&
          (alert.acknowledged ? (
            <span className="acked-label" data-testid="alert-acked">
              ✓ Acknowledged
            </span>
          ) : (
            <button
              type="button"
              className="btn btn-small"
              data-testid="alert-ack"
              disabled={acking}
              onClick={() => {
                setAcking(true);
                setAckError(null);
                onAcknowledge(alert.id).then(
                  () => setAcking(false),
                  (error: unknown) => {
                    setAcking(false);
                    setAckError(describeError(error));
                  },
                );
              }}
            >
              {acking ? 'Acknowledging…' : 'Acknowledge'}
            </button>
          ))}
      </div>
      {ackError !== null && <div className="inline-error">Could not acknowledge: {ackError}</div>}
    </li>
  );
}

/** Share points with a sign: "+21.0 pts". */
const points = (share: number): string => `${share >= 0 ? '+' : '−'}${Math.abs(share * 100).toFixed(1)} pts`;

/**
 * Why the alert fired and how sure it is (alerts stored before explanations existed have none and skip this):
 * the rise with its 95% interval (its multiple is in the line above), the baseline it beat and where it came from,
 * and the spread it was judged by.
 */
function AlertWhy({ alert, why }: { alert: Alert; why: AlertExplanation }) {
  const hour = `${String(why.baseline.hourOfDay).padStart(2, '0')}:00 UTC`;
  const source =
    why.baseline.method === 'hour-of-day'
      ? `usual for ${hour} (EWMA of ${formatCount(why.baseline.windows)} windows ${points(why.baseline.seasonalIndex ?? 0)} for the hour)`
      : `EWMA of ${formatCount(why.baseline.windows)} windows`;
  return (
    <div className="alert-why" data-testid="alert-why">
      <div>
        <span data-testid="alert-effect">{points(why.effect.difference)}</span>{' '}
        <span className="dim" data-testid="alert-interval">
          (95% CI {points(why.effect.lo)} to {points(why.effect.hi)})
        </span>
      </div>
      <div className="dim" data-testid="alert-baseline">
        baseline {formatPercent(alert.expected)}: {source}
      </div>
      <div className="dim" data-testid="alert-dispersion">
        spread ±{(why.dispersion.totalSd * 100).toFixed(1)} pts: real movement ±{(why.dispersion.betweenSd * 100).toFixed(1)}, sampling ±
        {(why.dispersion.samplingSd * 100).toFixed(1)}
      </div>
      {why.decidedLate !== undefined && (
        <div className="dim" data-testid="alert-late">
          {describeLate(why.decidedLate)}
        </div>
      )}
    </div>
  );
}

/** Why the alert came after its window's first decision (late posts, or a rebuild of the store). */
function describeLate(late: NonNullable<AlertExplanation['decidedLate']>): string {
  if (late.reason === 'rebuild') return 'decided late: re-decided over the rebuilt history after the store was lost (trends:rebuild)';
  const first = late.firstCount === null ? '' : ` on ${formatCount(late.firstCount)} posts`;
  const at = late.firstDecidedAt === null ? '' : ` at ${formatTime(late.firstDecidedAt, 0)}`;
  return `decided late: first decided${first}${at}; posts that arrived later made it significant`;
}
