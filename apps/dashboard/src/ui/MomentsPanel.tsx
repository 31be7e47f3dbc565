'use client';

import { useState } from 'react';
import { WINDOW_MS, type Moment } from '@moodstream/events';
import { describeError } from './api';
import { formatTime } from './format';
import type { Loadable } from './hooks';
import { liveEventApi } from './live-event-api';

/** Moments beside the alerts: every viewer sees a new one at once; the operator marks one now (or at a time). */
export function MomentsPanel({ state, onShow }: { state: Loadable<Moment[]>; onShow?: (moment: Moment) => void }) {
  const [label, setLabel] = useState('');
  const [minutesAgo, setMinutesAgo] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const moments = state.data ?? [];

  const add = async () => {
    setBusy(true);
    setError(null);
    try {
      await liveEventApi.addMoment(label, minutesAgo === 0 ? undefined : Date.now() - minutesAgo * WINDOW_MS['1m']);
      setLabel('');
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };
  const remove = async (id: string) => {
    try {
      await liveEventApi.removeMoment(id);
    } catch (failure) {
      setError(describeError(failure));
    }
  };

  return (
    <section className="live-panel" aria-label="Moments" data-testid="moments-panel">
      <h2>Moments</h2>
      <form
        className="inline-form"
        onSubmit={(event) => {
          event.preventDefault();
          void add();
        }}
      >
        <input value={label} onChange={(e) => setLabel(e.target.value)} placeholder="kick-off, speech starts…" maxLength={80} aria-label="Moment label" data-testid="moment-input" />
        <select value={minutesAgo} onChange={(e) => setMinutesAgo(Number(e.target.value))} aria-label="When" data-testid="moment-when">
          <option value={0}>now</option>
          <option value={1}>1 min ago</option>
          <option value={5}>5 min ago</option>
          <option value={15}>15 min ago</option>
        </select>
        <button type="submit" className="btn btn-small btn-primary" disabled={busy || label.trim() === ''} data-testid="moment-add">
          Mark
        </button>
      </form>
      {error !== null && (
        <p className="inline-error" role="alert" data-testid="moment-error">
          {error}
        </p>
      )}
      {state.status === 'error' && <p className="inline-error">Moments unavailable: {state.error}</p>}
      <ol className="plain-list">
        {moments
          .slice()
          .reverse()
          .map((m) => (
            <li key={m.id} data-testid="moment-item" data-id={m.id} data-at={m.at}>
              <button type="button" className="linkish" onClick={() => onShow?.(m)}>
                {formatTime(m.at, 0)}
              </button>{' '}
              <span className="moment-label">{m.label}</span>
              <button type="button" className="btn btn-small btn-ghost" onClick={() => void remove(m.id)} aria-label={`Remove moment ${m.label}`}>
                ×
              </button>
            </li>
          ))}
      </ol>
      {state.status === 'ready' && moments.length === 0 && <p className="note">No moments in this range. Mark one as it happens; it shows on every chart.</p>}
    </section>
  );
}
