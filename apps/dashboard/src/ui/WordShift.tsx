'use client';

import { useEffect, useState } from 'react';
import type { Emotion, WindowSize, WordShift, WordShiftTerm } from '@moodstream/events';
import { api, describeError } from './api';
import { formatPercent } from './format';
import { EMOTION_COLORS, EMOTION_LABELS } from './palette';
import { ErrorBox, Loading } from './States';

/** Share points with a sign: "+2.1 pts". */
const points = (share: number): string => `${share >= 0 ? '+' : '−'}${Math.abs(share * 100).toFixed(1)} pts`;

/** Used more or less often in the window than in the baseline. */
export function frequencyRose(term: WordShiftTerm): boolean {
  return term.windowWeight > term.baselineWeight;
}

/** More or less associated with the emotion than the baseline's average post (the sign the frequency part is judged by). */
export function moreAssociated(term: WordShiftTerm, shift: Pick<WordShift, 'baselineShare'>): boolean {
  const sides = [term.windowAssociation, term.baselineAssociation].filter((a): a is number => a !== null);
  const mean = sides.length === 0 ? 0 : sides.reduce((a, b) => a + b, 0) / sides.length;
  return mean > shift.baselineShare;
}

/**
 * A word shift as a small horizontal bar list: each term (user text, rendered as text), its signed contribution to the
 * share as a bar left or right of the middle, and ↑/↓ markers for "used more/less often" and "more/less associated
 * with the emotion than usual" (docs/word-shift.md).
 */
export function WordShiftBars({ shift, testId = 'word-shift' }: { shift: WordShift; testId?: string }) {
  const label = EMOTION_LABELS[shift.emotion];
  const color = EMOTION_COLORS[shift.emotion];
  const largest = Math.max(1e-12, ...shift.terms.map((t) => Math.abs(t.contribution)));
  return (
    <div className="word-shift" data-testid={testId} data-emotion={shift.emotion}>
      <div className="dim word-shift-head">
        {label} {formatPercent(shift.windowShare)} vs {formatPercent(shift.baselineShare)} in the {shift.baseline.windows} windows before ({points(shift.difference)}): what moved it
      </div>
      {shift.terms.length === 0 ? (
        <div className="dim">No words to compare in this window.</div>
      ) : (
        <ul className="word-shift-list" aria-label={`Terms that moved ${label}`}>
          {shift.terms.map((term) => {
            const width = `${(Math.abs(term.contribution) / largest) * 50}%`;
            const up = term.contribution >= 0;
            const more = frequencyRose(term);
            const assoc = moreAssociated(term, shift);
            return (
              <li key={term.term} className="word-shift-row" data-testid="word-shift-term" data-term={term.term} data-contribution={term.contribution}>
                <span className="word-shift-term" title={term.kind}>
                  {term.term}
                </span>
                <span className="word-shift-track" aria-hidden="true">
                  <span className="word-shift-bar" style={{ width, [up ? 'left' : 'right']: '50%', background: up ? color : 'var(--dim)' }} />
                </span>
                <span className="word-shift-value">{points(term.contribution)}</span>
                <span
                  className="word-shift-marks dim"
                  title={`${more ? 'used more' : 'used less'} (${formatPercent(term.windowWeight)} of posts vs ${formatPercent(term.baselineWeight)}); ${assoc ? 'more' : 'less'} ${label.toLowerCase()} than usual`}
                >
                  <span data-testid="word-shift-frequency">{more ? '↑' : '↓'}freq</span> <span data-testid="word-shift-association">{assoc ? '↑' : '↓'}{label.toLowerCase()}</span>
                </span>
              </li>
            );
          })}
        </ul>
      )}
      <div className="dim word-shift-foot">
        other terms {points(shift.rest)}
        {!shift.complete && ' (some buckets held more distinct terms than they keep: a sample is shown)'}
      </div>
    </div>
  );
}

/** An alert's word shift, folded: the top terms in the summary, the bars on opening. */
export function AlertWordShift({ shift }: { shift: WordShift }) {
  const top = shift.terms
    .filter((t) => t.contribution > 0)
    .slice(0, 3)
    .map((t) => t.term);
  return (
    <details className="alert-word-shift" data-testid="alert-word-shift">
      <summary>
        Words behind it{top.length > 0 ? `: ${top.join(', ')}` : ''}
      </summary>
      <WordShiftBars shift={shift} />
    </details>
  );
}

/** The Posts drill-down's word shift: fetched for the bucket and the chosen emotion. */
export function BucketWordShift(props: { topic: string; window: WindowSize; start: number; emotion: Emotion | null; replay: string | null }) {
  const { topic, window, start, emotion, replay } = props;
  const [state, setState] = useState<{ status: 'idle' | 'loading' } | { status: 'ready'; shift: WordShift } | { status: 'error'; error: string }>({ status: 'idle' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (emotion === null) {
      setState({ status: 'idle' });
      return;
    }
    let cancelled = false;
    setState({ status: 'loading' });
    api.wordShift({ topic, window, start, emotion, replay, limit: 10 }).then(
      (shift) => !cancelled && setState({ status: 'ready', shift }),
      (error: unknown) => !cancelled && setState({ status: 'error', error: describeError(error) }),
    );
    return () => {
      cancelled = true;
    };
  }, [topic, window, start, emotion, replay, generation]);

  if (emotion === null) return <div className="dim word-shift-hint">Pick an emotion to see which words moved its share in this bucket.</div>;
  if (state.status === 'error') return <ErrorBox message={`Word shift unavailable: ${state.error}`} onRetry={() => setGeneration((g) => g + 1)} />;
  if (state.status !== 'ready') return <Loading label="Loading word shift…" />;
  return <WordShiftBars shift={state.shift} testId="posts-word-shift" />;
}
