'use client';

import { useEffect, useState } from 'react';
import { ALL_TOPICS, EMOTIONS, type Emotion, type ExamplePost, type WindowSize } from '@moodstream/events';
import { api, describeError } from './api';
import { formatBucket, formatPercent } from './format';
import { EmotionDot } from './Legend';
import { EMOTION_LABELS } from './palette';
import { ProbabilityBars } from './ProbabilityBars';
import { Empty, ErrorBox, Loading } from './States';
import { BucketWordShift } from './WordShift';
import { PostExplanation } from './PostExplanation';

export interface PostsPanelProps {
  topic: string;
  window: WindowSize;
  start: number;
  emotion: Emotion | null;
  replay: string | null;
  /** Null while unknown: then every image with an explicit score is hidden. */
  explicitThreshold: number | null;
  /** Why the server's settings could not be read (the threshold is then 0), or null. */
  settingsError?: string | null;
  onEmotionChange: (emotion: Emotion | null) => void;
  onClose: () => void;
}

/** Only http(s) images and links are rendered; anything else (javascript:, data:) is dropped. */
export function isHttpUrl(value: string | null): value is string {
  if (value === null) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Why an image must wait for a click, or null when it may show at once: an explicit score at or above the threshold,
 * or no score at all (the scorer could not screen it), or a threshold not known yet.
 */
export function imageHoldReason(post: Pick<ExamplePost, 'explicit'>, threshold: number | null): 'explicit' | 'unscreened' | 'pending' | null {
  if (post.explicit === null) return 'unscreened';
  if (threshold === null) return 'pending';
  return post.explicit >= threshold ? 'explicit' : null;
}

/** Drill-down into one bucket: its example posts, each with text, thumbnail and the model's probabilities. */
export function PostsPanel({ topic, window, start, emotion, replay, explicitThreshold, settingsError = null, onEmotionChange, onClose }: PostsPanelProps) {
  const [state, setState] = useState<{ status: 'loading' } | { status: 'ready'; posts: ExamplePost[] } | { status: 'error'; error: string }>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    let cancelled = false;
    setState({ status: 'loading' });
    api.posts({ topic, window, start, emotion, replay, limit: 20 }).then(
      (posts) => !cancelled && setState({ status: 'ready', posts }),
      (error: unknown) => !cancelled && setState({ status: 'error', error: describeError(error) }),
    );
    return () => {
      cancelled = true;
    };
  }, [topic, window, start, emotion, replay, generation]);

  return (
    <section className="card posts-card" data-testid="posts-panel" aria-label="Posts in the selected bucket">
      <div className="card-head">
        <h2>
          Posts · {topic === ALL_TOPICS ? 'all topics' : `#${topic}`} · {formatBucket(start, window)}
        </h2>
        <button type="button" className="btn btn-small btn-ghost" onClick={onClose} aria-label="Close posts" data-testid="posts-close">
          ✕
        </button>
      </div>
      <div className="chips" role="group" aria-label="Filter by top emotion">
        <button type="button" className={emotion === null ? 'chip on' : 'chip'} onClick={() => onEmotionChange(null)}>
          All emotions
        </button>
        {EMOTIONS.map((e) => (
          <button key={e} type="button" className={emotion === e ? 'chip on' : 'chip'} onClick={() => onEmotionChange(e)} data-testid={`posts-filter-${e}`}>
            <EmotionDot emotion={e} />
            {EMOTION_LABELS[e]}
          </button>
        ))}
      </div>
      <BucketWordShift topic={topic} window={window} start={start} emotion={emotion} replay={replay} />
      {settingsError !== null && <ErrorBox message={`Image screening settings unavailable, so every image waits for a click: ${settingsError}`} testId="posts-settings-error" />}
      {(state.status === 'loading' || (state.status === 'ready' && explicitThreshold === null)) && <Loading label="Loading posts…" testId="posts-loading" />}
      {state.status === 'error' && <ErrorBox message={`Posts unavailable: ${state.error}`} onRetry={() => setGeneration((g) => g + 1)} />}
      {state.status === 'ready' && explicitThreshold !== null && state.posts.length === 0 && <Empty testId="posts-empty">No example posts stored for this bucket{emotion !== null ? ` with ${emotion} on top` : ''}.</Empty>}
      {/* Posts wait for the threshold, so no image flickers between hidden and shown. */}
      {state.status === 'ready' && explicitThreshold !== null && state.posts.length > 0 && (
        <ul className="post-list">
          {state.posts.map((post) => (
            <PostItem key={post.postId} post={post} threshold={explicitThreshold} />
          ))}
        </ul>
      )}
    </section>
  );
}

function PostItem({ post, threshold }: { post: ExamplePost; threshold: number | null }) {
  const [revealed, setRevealed] = useState(false);
  const [broken, setBroken] = useState(false);
  const holdReason = imageHoldReason(post, threshold);
  const hidden = holdReason !== null && !revealed;
  const image = isHttpUrl(post.imageUrl) ? post.imageUrl : null;

  return (
    <li className="post-item" data-testid="post-item" data-post-id={post.postId}>
      {image !== null && (
        <div className="post-media">
          {hidden ? (
            <div className="explicit-cover" data-testid="explicit-hidden" data-reason={holdReason ?? undefined}>
              <span>{holdReason === 'unscreened' ? 'Image not screened' : holdReason === 'pending' ? 'Image hidden' : `Image hidden: likely explicit (${formatPercent(post.explicit ?? 0, 0)})`}</span>
              <button type="button" className="btn btn-small" data-testid="show-explicit" onClick={() => setRevealed(true)}>
                Show
              </button>
            </div>
          ) : broken ? (
            <div className="explicit-cover">Image unavailable</div>
          ) : (
            // A plain <img>: third-party thumbnails, not assets next/image could optimise.
            <img src={image} alt="" loading="lazy" referrerPolicy="no-referrer" data-testid="post-image" onError={() => setBroken(true)} />
          )}
        </div>
      )}
      <div className="post-body">
        <p className="post-text" data-testid="post-text">
          {post.text.length > 0 ? post.text : <em className="dim">(no text)</em>}
        </p>
        <div className="post-meta dim">
          <EmotionDot emotion={post.topEmotion} /> {EMOTION_LABELS[post.topEmotion]} on top · {post.modality === 'both' ? 'image + text' : post.modality}
          {' · '}
          {new Date(post.timestamp).toLocaleTimeString('en-GB')}
          {isHttpUrl(post.url) && (
            <>
              {' · '}
              <a href={post.url} target="_blank" rel="noopener noreferrer nofollow">
                open post
              </a>
            </>
          )}
        </div>
        <ProbabilityBars probabilities={post.probabilities} />
        <PostExplanation post={post} />
      </div>
    </li>
  );
}
