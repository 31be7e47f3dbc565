'use client';

import { useEffect, useState } from 'react';
import { ALL_TOPICS, EMOTIONS, WINDOW_MS, type AlertRule, type AlertRuleAudit, type AlertRuleSettings, type Emotion } from '@moodstream/events';
import { describeError } from './api';
import { formatTime } from './format';
import { liveEventApi } from './live-event-api';
import { EMOTION_LABELS } from './palette';

/** Sensitivity as a person picks it: the family-wise level behind each choice. */
const SENSITIVITY: { label: string; level: number }[] = [
  { label: 'low (α 0.001)', level: 0.001 },
  { label: 'normal (α 0.01)', level: 0.01 },
  { label: 'high (α 0.05)', level: 0.05 },
];
const MUTES: { label: string; ms: number }[] = [
  { label: 'not muted', ms: 0 },
  { label: '15 minutes', ms: 15 * WINDOW_MS['1m'] },
  { label: '1 hour', ms: WINDOW_MS['1h'] },
  { label: '4 hours', ms: 4 * WINDOW_MS['1h'] },
];

/**
 * The shown topic's alert rule: on/off, the emotions watched, sensitivity, minimum posts and persistence, a mute.
 * Starts from the global settings; every save is audited and applies from the aggregator's next window.
 */
export function RulesPanel({ topic }: { topic: string }) {
  const [defaults, setDefaults] = useState<AlertRuleSettings | null>(null);
  const [rule, setRule] = useState<AlertRule | null>(null);
  const [draft, setDraft] = useState<AlertRuleSettings | null>(null);
  const [muteMs, setMuteMs] = useState(-1);
  const [audit, setAudit] = useState<AlertRuleAudit[]>([]);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (topic === ALL_TOPICS) return;
    let cancelled = false;
    Promise.all([liveEventApi.rules(), liveEventApi.audit(topic)]).then(
      ([list, trail]) => {
        if (cancelled) return;
        const own = list.rules.find((r) => r.topic === topic) ?? null;
        setDefaults(list.defaults);
        setRule(own);
        setDraft(own ?? list.defaults);
        setAudit(trail);
      },
      (failure: unknown) => {
        if (!cancelled) setError(describeError(failure));
      },
    );
    return () => {
      cancelled = true;
    };
  }, [topic, generation]);

  if (topic === ALL_TOPICS) return <p className="note">Pick a topic to set its alert rule.</p>;
  if (draft === null || defaults === null) return error === null ? <p className="note">Loading the alert rule…</p> : <p className="inline-error">{error}</p>;

  const save = async () => {
    setError(null);
    setStatus(null);
    try {
      const { mutedUntil: _kept, ...fields } = draft;
      const saved = await liveEventApi.setRule(topic, { ...fields, ...(muteMs >= 0 ? { muteForMs: muteMs } : {}) });
      setStatus(`saved ${formatTime(saved.updatedAt, 0)}: applies from the next window`);
      setMuteMs(-1);
      setGeneration((g) => g + 1);
    } catch (failure) {
      setError(describeError(failure));
    }
  };
  const reset = async () => {
    setError(null);
    try {
      await liveEventApi.resetRule(topic);
      setStatus('back to the global settings');
      setGeneration((g) => g + 1);
    } catch (failure) {
      setError(describeError(failure));
    }
  };
  const toggleEmotion = (e: Emotion) => {
    const has = draft.emotions.includes(e);
    const emotions = has ? draft.emotions.filter((x) => x !== e) : EMOTIONS.filter((x) => x === e || draft.emotions.includes(x));
    if (emotions.length > 0) setDraft({ ...draft, emotions });
  };
  const muted = rule?.mutedUntil != null && rule.mutedUntil > Date.now();

  return (
    <section className="live-panel" aria-label={`Alert rule for #${topic}`} data-testid="rules-panel" data-topic={topic} data-enabled={String(rule?.enabled ?? true)}>
      <h2>
        Alert rule · #{topic} <span className="dim small">{rule === null ? '(global settings)' : '(own rule)'}</span>
      </h2>
      <label className="check">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: e.target.checked })} data-testid="rule-enabled" /> alerts on
      </label>
      <div className="chips" role="group" aria-label="Emotions watched">
        {EMOTIONS.map((e) => (
          <label key={e} className="check small">
            <input type="checkbox" checked={draft.emotions.includes(e)} onChange={() => toggleEmotion(e)} data-testid={`rule-emotion-${e}`} /> {EMOTION_LABELS[e]}
          </label>
        ))}
      </div>
      <div className="rule-grid">
        <label>
          <span className="control-label">Sensitivity</span>
          <select value={draft.level} onChange={(e) => setDraft({ ...draft, level: Number(e.target.value) })} data-testid="rule-level">
            {[...SENSITIVITY, ...(SENSITIVITY.some((s) => s.level === draft.level) ? [] : [{ label: `α ${draft.level}`, level: draft.level }])].map((s) => (
              <option key={s.level} value={s.level}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span className="control-label">Min posts / window</span>
          <input type="number" min={1} value={draft.minCount} onChange={(e) => setDraft({ ...draft, minCount: Math.max(1, Math.floor(Number(e.target.value) || 1)) })} data-testid="rule-min-count" />
        </label>
        <label>
          <span className="control-label">Windows in a row</span>
          <input type="number" min={1} max={100} value={draft.forWindows} onChange={(e) => setDraft({ ...draft, forWindows: Math.min(100, Math.max(1, Math.floor(Number(e.target.value) || 1))) })} data-testid="rule-for-windows" />
        </label>
        <label>
          <span className="control-label">Mute {muted ? `(until ${formatTime(rule?.mutedUntil ?? 0, 0)})` : ''}</span>
          <select value={muteMs} onChange={(e) => setMuteMs(Number(e.target.value))} data-testid="rule-mute">
            <option value={-1}>{muted ? 'keep' : '—'}</option>
            {MUTES.map((m) => (
              <option key={m.ms} value={m.ms}>
                {m.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="inline-form">
        <button type="button" className="btn btn-small btn-primary" onClick={() => void save()} data-testid="rule-save">
          Save rule
        </button>
        {rule !== null && (
          <button type="button" className="btn btn-small" onClick={() => void reset()} data-testid="rule-reset">
            Use global settings
          </button>
        )}
      </div>
      {status !== null && (
        <p className="note" data-testid="rule-status">
          {status}
        </p>
      )}
      {error !== null && (
        <p className="inline-error" role="alert" data-testid="rule-error">
          {error}
        </p>
      )}
      {audit.length > 0 && (
        <details className="note">
          <summary>Changes ({audit.length})</summary>
          <ul className="plain-list" data-testid="rule-audit">
            {audit.map((a) => (
              <li key={`${a.at}-${a.who}`}>
                {formatTime(a.at, 0)} · {a.who}: {describeChange(a)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function describeChange(entry: AlertRuleAudit): string {
  if (entry.after === null) return 'back to the global settings';
  const after = entry.after;
  const before = entry.before;
  const changed = (['enabled', 'level', 'minCount', 'forWindows', 'mutedUntil'] as const).filter((k) => before === null || before[k] !== after[k]).map((k) => `${k} ${String(after[k])}`);
  if (before === null || before.emotions.join() !== after.emotions.join()) changed.push(`emotions ${after.emotions.join('/')}`);
  return changed.length === 0 ? 'saved unchanged' : changed.join(', ');
}
