import { EMOTIONS, type Emotion } from '@moodstream/events';
import { EMOTION_COLORS, EMOTION_LABELS } from './palette';

/** The emotion key; clicking an entry hides or shows that emotion on the chart. */
export function Legend({ hidden, onToggle }: { hidden?: ReadonlySet<Emotion>; onToggle?: (emotion: Emotion) => void }) {
  return (
    <ul className="legend" data-testid="legend" aria-label="Emotion colours">
      {EMOTIONS.map((e) => {
        const off = hidden?.has(e) ?? false;
        const swatch = <span className="swatch" style={{ background: EMOTION_COLORS[e] }} aria-hidden="true" />;
        return (
          <li key={e} className={off ? 'legend-item off' : 'legend-item'}>
            {onToggle !== undefined ? (
              <button type="button" aria-pressed={!off} onClick={() => onToggle(e)} title={off ? `Show ${e}` : `Hide ${e}`}>
                {swatch}
                {EMOTION_LABELS[e]}
              </button>
            ) : (
              <span>
                {swatch}
                {EMOTION_LABELS[e]}
              </span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

export function EmotionDot({ emotion }: { emotion: Emotion }) {
  return <span className="dot" style={{ background: EMOTION_COLORS[emotion] }} aria-hidden="true" />;
}
