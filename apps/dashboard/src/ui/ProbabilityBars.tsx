import { EMOTIONS } from '@moodstream/events';
import { EMOTION_COLORS, EMOTION_LABELS } from './palette';
import { formatPercent } from './format';

/** The model's six probabilities for one post, one small bar each, in the shared colours. */
export function ProbabilityBars({ probabilities }: { probabilities: readonly number[] }) {
  return (
    <ul className="probs" aria-label="Predicted probabilities">
      {EMOTIONS.map((e, i) => {
        const p = probabilities[i] ?? 0;
        return (
          <li key={e} className="prob" title={`${EMOTION_LABELS[e]} ${formatPercent(p)}`}>
            <span className="prob-label">{EMOTION_LABELS[e]}</span>
            <span className="prob-track">
              <span className="prob-fill" style={{ width: `${Math.max(0, Math.min(1, p)) * 100}%`, background: EMOTION_COLORS[e] }} />
            </span>
            <span className="prob-value">{formatPercent(p, 0)}</span>
          </li>
        );
      })}
    </ul>
  );
}
