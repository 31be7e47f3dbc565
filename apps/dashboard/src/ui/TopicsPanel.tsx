'use client';

import { useState } from 'react';
import { WINDOW_MS, type TopicBudget } from '@moodstream/events';
import { describeError } from './api';
import { formatCount, formatTime } from './format';
import { useWatchedTopics } from './hooks';
import { liveEventApi } from './live-event-api';

/**
 * Watched topics during an event: add a tag (normalised by the server like the ingester does), see what the request
 * budget has left and what one more tag costs, remove a tag added here. A tag the budget cannot carry is refused with
 * the server's reason.
 */
export function TopicsPanel({ onOpen }: { onOpen?: (tag: string) => void }) {
  const { state, reload } = useWatchedTopics();
  const [tag, setTag] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const data = state.data;

  const add = async () => {
    if (tag.trim() === '') return;
    setBusy(true);
    setError(null);
    try {
      const added = await liveEventApi.addTopic(tag);
      setTag('');
      reload();
      onOpen?.(added.tag);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };
  const remove = async (name: string) => {
    setError(null);
    try {
      await liveEventApi.removeTopic(name);
      reload();
    } catch (failure) {
      setError(describeError(failure));
    }
  };

  return (
    <section className="card live-panel" aria-label="Watched topics" data-testid="topics-panel">
      <div className="card-head">
        <h2>Watched topics</h2>
        <span className="dim small">{data === null ? '' : `${data.configured.length + data.topics.length} watched`}</span>
      </div>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void add();
        }}
      >
        <input value={tag} onChange={(e) => setTag(e.target.value)} placeholder="#tag to follow" maxLength={140} aria-label="Tag to watch" data-testid="topic-input" />
        <button type="submit" className="btn btn-small btn-primary" disabled={busy || tag.trim() === ''} data-testid="topic-add">
          Watch
        </button>
      </form>
      {error !== null && (
        <p className="inline-error" role="alert" data-testid="topic-error">
          {error}
        </p>
      )}
      <BudgetLine budget={data?.budget ?? null} loaded={data !== null} />
      <ul className="plain-list">
        {(data?.topics ?? []).map((t) => {
          const polled = data?.budget?.report?.lastPolled[t.tag];
          return (
            <li key={t.tag} data-testid="watched-topic" data-tag={t.tag} data-polled={polled ?? ''}>
              <button type="button" className="linkish" onClick={() => onOpen?.(t.tag)}>
                #{t.tag}
              </button>
              <span className="dim small"> {polled === undefined ? '· not polled yet' : `· polled ${formatTime(polled, 0)}`}</span>
              <button type="button" className="btn btn-small btn-ghost" onClick={() => void remove(t.tag)} aria-label={`Stop watching #${t.tag}`} data-testid="topic-remove">
                ×
              </button>
            </li>
          );
        })}
      </ul>
      {data !== null && data.configured.length > 0 && <p className="note">Always watched (start-up settings): {data.configured.map((t) => `#${t}`).join(' ')}</p>}
      {state.status === 'error' && <p className="inline-error">Watched topics unavailable: {state.error}</p>}
    </section>
  );
}

function BudgetLine({ budget, loaded }: { budget: TopicBudget | null; loaded: boolean }) {
  if (!loaded) return null;
  if (budget === null) return <p className="note" data-testid="budget-none">No live ingester has reported its request budget (the demo replays an archive): tags are stored and polled once one runs.</p>;
  const left = budget.report?.left;
  // Tokens in the ingester's buckets now: what it may send at once before the sustained rate paces it.
  const ready = left === undefined ? null : Math.min(left.perMinute, left.perHour, left.perDay);
  return (
    <p className="note" data-testid="budget" data-capacity={budget.capacity} data-watched={budget.watched}>
      Request budget: sustains ~{formatCount(Math.floor(budget.sustainablePerHour))} requests/hour{ready === null ? '' : ` (${formatCount(ready)} ready now)`} ·{' '}
      <span data-testid="budget-cost">one more tag costs ~{Math.round(budget.costPerTagPerHour)} requests/hour</span> · carries {formatCount(budget.capacity)} tags polled at least every{' '}
      {Math.round(budget.maxPollIntervalMs / WINDOW_MS['1m'])} min; {budget.watched} watched
    </p>
  );
}
