'use client';

import { useEffect, useState } from 'react';
import { EMOTIONS, ModelInfoSchema, type ModelInfo } from '@moodstream/events';
import { describeError, request } from './api';
import { formatPercent } from './format';
import { EmotionDot } from './Legend';
import { EMOTION_LABELS } from './palette';
import { ErrorBox, Loading } from './States';
import { TopBar } from './TopBar';

const num = (v: number | null, digits = 3) => (v === null ? '—' : v.toFixed(digits));

/** What the model has learnt: card, Table 6.1, confusion matrix, top words, class visualisations and generated posts. */
export function ModelPage() {
  const [state, setState] = useState<{ status: 'loading' } | { status: 'ready'; info: ModelInfo } | { status: 'error'; error: string }>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let cancelled = false;
    request('/api/model', ModelInfoSchema).then(
      (info) => !cancelled && setState({ status: 'ready', info }),
      (error: unknown) => !cancelled && setState({ status: 'error', error: describeError(error) }),
    );
    return () => {
      cancelled = true;
    };
  }, [generation]);
  return (
    <>
      <TopBar current="model" />
      <main className="model-page" data-testid="model-page">
        {state.status === 'loading' && <Loading label="Loading the model…" testId="model-loading" />}
        {state.status === 'error' && <ErrorBox message={`Model information unavailable: ${state.error}`} onRetry={() => setGeneration((g) => g + 1)} />}
        {state.status === 'ready' && <ModelSections info={state.info} />}
      </main>
    </>
  );
}

function ModelSections({ info }: { info: ModelInfo }) {
  return (
    <>
      <section className="card" aria-label="Evaluation">
        <h2>Model {info.version} · evaluation (the study&apos;s Table 6.1 shape)</h2>
        {info.evaluation === null ? (
          <p className="dim">No evaluation file: run npm run model:explain.</p>
        ) : (
          <table className="model-table" data-testid="evaluation-table">
            <thead>
              <tr>
                <th>row</th>
                <th>n</th>
                <th>accuracy</th>
                <th>macro-F1</th>
                <th>ECE</th>
              </tr>
            </thead>
            <tbody>
              {info.evaluation.rows.map((r) => (
                <tr key={r.name} title={r.note}>
                  <td>{r.name}</td>
                  <td>{r.n}</td>
                  <td>{num(r.accuracy)}</td>
                  <td>{num(r.macroF1)}</td>
                  <td>{num(r.ece)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {info.evaluation !== null && <p className="dim">{info.evaluation.source}</p>}
      </section>

      {info.confusion !== null && (
        <section className="card" aria-label="Confusion matrix">
          <h2>Confusion matrix (rows: true, columns: predicted)</h2>
          <table className="model-table" data-testid="confusion-matrix">
            <thead>
              <tr>
                <th />
                {info.confusion.labels.map((l) => (
                  <th key={l}>{l}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {info.confusion.matrix.map((row, i) => (
                <tr key={i}>
                  <th>{info.confusion!.labels[i]}</th>
                  {row.map((v, j) => (
                    <td key={j} style={i === j ? { fontWeight: 600 } : undefined}>
                      {v}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          <p className="dim">{info.confusion.source}</p>
        </section>
      )}

      <section className="card" aria-label="Class visualisations">
        <h2>Class visualisations: images the image branch scores highest for each emotion</h2>
        <div className="model-grid">
          {info.visualisations.map((v) => (
            <figure key={v.emotion} data-testid="class-visualisation" data-emotion={v.emotion}>
              <img src={v.url} alt={`class visualisation for ${v.emotion}`} width={160} height={160} />
              <figcaption>
                <EmotionDot emotion={v.emotion} /> {EMOTION_LABELS[v.emotion]} · score {v.startScore.toFixed(2)} → {v.finalScore.toFixed(2)} in {v.steps} steps
              </figcaption>
            </figure>
          ))}
        </div>
        {info.visualisations.length === 0 && <p className="dim">No visualisations: run npm run visualise -- --emotion all --out-dir models/default/explain.</p>}
      </section>

      {info.topWords !== null && (
        <section className="card" aria-label="Top words">
          <h2>Top words per emotion</h2>
          <p className="dim">{info.topWords.method}</p>
          <div className="model-grid" data-testid="top-words">
            {EMOTIONS.map((e) => (
              <div key={e}>
                <h3>
                  <EmotionDot emotion={e} /> {EMOTION_LABELS[e]}
                </h3>
                <ol>
                  {(info.topWords!.emotions[e] ?? []).slice(0, 12).map((w) => (
                    <li key={w.token}>
                      {w.token} <span className="dim">{formatPercent(w.probability, 0)}</span>
                    </li>
                  ))}
                </ol>
              </div>
            ))}
          </div>
        </section>
      )}

      {info.generated !== null && (
        <section className="card" aria-label="Generated posts">
          <h2>Generated posts — written by the model, not by people</h2>
          {info.generated.perplexity !== null && (
            <p className="dim">
              Held-out perplexity: conditioned LSTM {info.generated.perplexity.conditioned.toFixed(1)}, unconditioned LSTM {info.generated.perplexity.unconditioned.toFixed(1)}, unigram{' '}
              {info.generated.perplexity.unigram.toFixed(1)} (generator {info.generated.generatorVersion}).
            </p>
          )}
          <ul data-testid="generated-posts">
            {info.generated.posts.map((p, i) => (
              <li key={i} data-generated="true">
                <span className="badge">generated</span> <EmotionDot emotion={p.emotion} /> {EMOTION_LABELS[p.emotion]}: {p.text}
              </li>
            ))}
          </ul>
        </section>
      )}

      {info.card !== null && (
        <section className="card" aria-label="Model card">
          <h2>Model card</h2>
          <pre className="model-card" data-testid="model-card">
            {info.card}
          </pre>
        </section>
      )}
    </>
  );
}
