import { EMOTIONS, WINDOW_MS, type Emotion, type SeriesPoint, type SeriesUpdate, type WindowSize } from '@moodstream/events';

/** What one chart is showing; a `series` push is applied only when it matches. */
export interface SeriesSelection {
  topic: string;
  window: WindowSize;
  replay: string | null;
}

export function updateMatches(update: SeriesUpdate, selection: SeriesSelection): boolean {
  return update.topic === selection.topic && update.window === selection.window && (update.replay ?? null) === selection.replay;
}

/**
 * Puts a pushed bucket into a series sorted by start: a bucket already present is replaced (the aggregator re-sends a
 * bucket every time it grows), a new one is inserted in order. Points starting before `from` fall off the left edge.
 * Returns the same array when nothing changed, so React can skip a re-render.
 */
export function mergePoint(points: readonly SeriesPoint[], point: SeriesPoint, from = -Infinity): SeriesPoint[] {
  if (point.start < from) return trimBefore(points, from);
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((points[mid] as SeriesPoint).start < point.start) lo = mid + 1;
    else hi = mid;
  }
  const next = points.slice();
  if (lo < points.length && (points[lo] as SeriesPoint).start === point.start) next[lo] = point;
  else next.splice(lo, 0, point);
  return trimBefore(next, from);
}

export function trimBefore(points: readonly SeriesPoint[], from: number): SeriesPoint[] {
  let cut = 0;
  while (cut < points.length && (points[cut] as SeriesPoint).start < from) cut++;
  return cut === 0 ? (points as SeriesPoint[]) : points.slice(cut);
}

/** Raw shares carry 95% bands; corrected shares (adjusted classify-and-count) are point estimates. */
export type ShareMode = 'raw' | 'corrected';

/**
 * One row per bucket, flat for recharts: `<emotion>` is the share, `<emotion>Band` its [lo, hi]. The newest bucket,
 * while it still fills, is `partial`: its shares go to `<emotion>Partial` instead (drawn dashed, from the last
 * complete bucket, which carries them too so the dashed segment starts where the solid line ends).
 */
export type ChartRow = { start: number; count: number; partial?: boolean } & Partial<Record<Emotion, number>> &
  Partial<Record<`${Emotion}Band`, [number, number]>> &
  Partial<Record<`${Emotion}Partial`, number>>;

/** A bucket is still filling until its window has ended by the browser's clock. */
export function isPartial(point: SeriesPoint, window: WindowSize, now: number): boolean {
  return point.start + WINDOW_MS[window] > now;
}

/** The newest bucket whose window has ended: what headline figures are read from, never one that holds one post. */
export function lastComplete(points: readonly SeriesPoint[], window: WindowSize, now: number): SeriesPoint | undefined {
  for (let i = points.length - 1; i >= 0; i--) {
    const point = points[i] as SeriesPoint;
    if (!isPartial(point, window, now)) return point;
  }
  return undefined;
}

/** `live` marks the newest bucket partial while it fills (a replay or a past range has none). */
export function toChartRows(points: readonly SeriesPoint[], mode: ShareMode, live?: { window: WindowSize; now: number }): ChartRow[] {
  const rows = points.map((p) => {
    const row: ChartRow = { start: p.start, count: p.count };
    for (const e of EMOTIONS) {
      if (mode === 'corrected') {
        if (p.corrected !== null) row[e] = p.corrected[e];
      } else {
        row[e] = p.shares[e].share;
        row[`${e}Band`] = [p.shares[e].lo, p.shares[e].hi];
      }
    }
    return row;
  });
  const newest = points[points.length - 1];
  const last = rows[rows.length - 1];
  if (live === undefined || newest === undefined || last === undefined || !isPartial(newest, live.window, live.now)) return rows;
  last.partial = true;
  const previous = rows[rows.length - 2];
  for (const e of EMOTIONS) {
    const value = last[e];
    delete last[e];
    if (value !== undefined) last[`${e}Partial`] = value;
    const before = previous?.[e];
    if (previous !== undefined && before !== undefined) previous[`${e}Partial`] = before;
  }
  return rows;
}

/** Whether any point in view can show corrected shares (the model may ship without a confusion matrix). */
export function hasCorrected(points: readonly SeriesPoint[]): boolean {
  return points.some((p) => p.corrected !== null);
}

export function totalCount(points: readonly SeriesPoint[]): number {
  return points.reduce((sum, p) => sum + p.count, 0);
}

/** The emotion with the largest share in a bucket (ties go to the earlier emotion). */
export function leadingEmotion(point: SeriesPoint, mode: ShareMode): Emotion {
  let best: Emotion = EMOTIONS[0];
  let bestValue = -1;
  for (const e of EMOTIONS) {
    const value = mode === 'corrected' && point.corrected !== null ? point.corrected[e] : point.shares[e].share;
    if (value > bestValue) {
      best = e;
      bestValue = value;
    }
  }
  return best;
}
