import { ALL_TOPICS, isEmotion, type Emotion } from '@moodstream/events';
import type { ShareMode } from './series';
import { LIVE_WINDOWS, RANGES, fitWindow, type LiveWindow, type RangeName } from './windows';

/** Everything the live view shows, mirrored in the query string so a view (or an alert's moment) can be linked. */
export interface LiveViewState {
  topic: string;
  window: LiveWindow;
  range: RangeName;
  mode: ShareMode;
  /** A highlighted bucket (its start), e.g. the moment an alert fired. */
  at: number | null;
  /** When set, the posts drill-down is open on bucket `at`, filtered to `emotion` if given. */
  posts: boolean;
  emotion: Emotion | null;
  /** Topics shown side by side on one time axis (small multiples); empty: the one chart of `topic`. */
  compare: string[];
}

/** Most topics compared at once (each is a chart and a request every few seconds). */
export const MAX_COMPARE = 6;

export const DEFAULT_VIEW: LiveViewState = {
  topic: ALL_TOPICS,
  window: '1m',
  range: '1h',
  mode: 'raw',
  at: null,
  posts: false,
  emotion: null,
  compare: [],
};

function pick<T extends string>(value: string | null, allowed: readonly T[], fallback: T): T {
  return value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

export function parseViewState(search: string): LiveViewState {
  const q = new URLSearchParams(search);
  const topic = (q.get('topic') ?? '').trim();
  const range = pick(q.get('range'), RANGES, DEFAULT_VIEW.range);
  const window = fitWindow(range, pick(q.get('window'), LIVE_WINDOWS, DEFAULT_VIEW.window));
  const atRaw = q.get('at');
  const at = atRaw !== null && /^\d{1,15}$/.test(atRaw) ? Number(atRaw) : null;
  const emotionRaw = q.get('emotion');
  return {
    topic: topic.length > 0 && topic.length <= 140 ? topic : DEFAULT_VIEW.topic,
    window,
    range,
    mode: pick(q.get('mode'), ['raw', 'corrected'] as const, DEFAULT_VIEW.mode),
    at,
    posts: at !== null && q.get('posts') === '1',
    emotion: emotionRaw !== null && isEmotion(emotionRaw) ? emotionRaw : null,
    // Repeated `compare=` parameters (a tag may hold a comma), each a topic as the picker spells it, de-duplicated.
    compare: [...new Set(q.getAll('compare').map((t) => t.trim()).filter((t) => t.length > 0 && t.length <= 140))].slice(0, MAX_COMPARE),
  };
}

/** The query string for a view, leaving out defaults so links stay short. */
export function viewStateQuery(state: LiveViewState): string {
  const q = new URLSearchParams();
  if (state.topic !== DEFAULT_VIEW.topic) q.set('topic', state.topic);
  if (state.window !== DEFAULT_VIEW.window) q.set('window', state.window);
  if (state.range !== DEFAULT_VIEW.range) q.set('range', state.range);
  if (state.mode !== DEFAULT_VIEW.mode) q.set('mode', state.mode);
  if (state.at !== null) q.set('at', String(state.at));
  if (state.posts && state.at !== null) q.set('posts', '1');
  if (state.emotion !== null) q.set('emotion', state.emotion);
  for (const topic of state.compare) q.append('compare', topic);
  const s = q.toString();
  return s.length > 0 ? `?${s}` : '';
}
