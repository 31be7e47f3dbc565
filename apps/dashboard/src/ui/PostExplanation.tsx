'use client';

import { useState } from 'react';
import { PostExplanationSchema, type ExamplePost, type PostExplanation as Explanation } from '@moodstream/events';
import { describeError, request } from './api';
import { formatPercent } from './format';
import { EMOTION_LABELS } from './palette';

/** Background of a word by its signed contribution: green pushes towards the emotion, red away; alpha by size. */
function shade(contribution: number, max: number): string {
  const a = max === 0 ? 0 : Math.min(1, Math.abs(contribution) / max) * 0.55;
  return contribution >= 0 ? `rgba(34, 160, 90, ${a.toFixed(3)})` : `rgba(210, 60, 60, ${a.toFixed(3)})`;
}

/**
 * "Why this score?" under a post: asks the server for integrated-gradients word contributions to the post's top
 * emotion and the image's share of the decision. Words are rendered as text, never HTML.
 */
export function PostExplanation({ post }: { post: Pick<ExamplePost, 'text' | 'probabilities' | 'modality' | 'explicit'> }) {
  const [state, setState] = useState<{ status: 'idle' } | { status: 'loading' } | { status: 'ready'; e: Explanation } | { status: 'error'; error: string }>({ status: 'idle' });
  const load = () => {
    setState({ status: 'loading' });
    request('/api/explain/post', PostExplanationSchema, {
      method: 'POST',
      body: JSON.stringify({ text: post.text, probabilities: post.probabilities, modality: post.modality, explicit: post.explicit }),
    }).then(
      (e) => setState({ status: 'ready', e }),
      (error: unknown) => setState({ status: 'error', error: describeError(error) }),
    );
  };
  if (state.status === 'idle') {
    return (
      <button type="button" className="btn btn-small btn-ghost" onClick={load} data-testid="explain-post">
        Why this score?
      </button>
    );
  }
  if (state.status === 'loading') return <p className="dim" data-testid="explain-loading">Explaining…</p>;
  if (state.status === 'error') return <p className="dim" data-testid="explain-error">Explanation unavailable: {state.error}</p>;
  const { e } = state;
  const max = Math.max(0, ...e.words.map((w) => Math.abs(w.contribution)));
  return (
    <div className="post-explanation" data-testid="post-explanation">
      <p className="dim">
        Towards <strong>{EMOTION_LABELS[e.emotion]}</strong>: text {e.textPart >= 0 ? '+' : ''}
        {e.textPart.toFixed(2)}, image {e.imagePart >= 0 ? '+' : ''}
        {e.imagePart.toFixed(2)} (log-odds units) · image share {formatPercent(e.imageShare, 0)}
        {e.explicit !== null ? ` · explicit score ${formatPercent(e.explicit, 0)}` : ''}
      </p>
      {e.words.length > 0 && (
        <p className="explain-words" data-testid="explain-words">
          {e.words.map((w, i) => (
            <span key={i} title={`${w.contribution >= 0 ? '+' : ''}${w.contribution.toFixed(3)}`} style={{ background: shade(w.contribution, max), padding: '0 2px', borderRadius: 3 }} data-contribution={w.contribution.toFixed(4)}>
              {w.token}{' '}
            </span>
          ))}
        </p>
      )}
    </div>
  );
}
