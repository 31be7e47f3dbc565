import { MoodstreamError } from '@moodstream/core';
import { EMOTIONS, WINDOW_MS, type Emotion, type WindowSize, type WordShift, type WordShiftQuery } from '@moodstream/events';
import type { TrendsConfig } from './config';
import type { BucketRef, TrendsStore } from './store';
import { bucketStart } from './windows';
import { computeWordShift, mergeTables, type WordShiftStore } from './word-shift';

export interface WordShiftRequest {
  topic: string;
  size: WindowSize;
  /** Any time in the window; the bucket containing it is the window. */
  start: number;
  emotion: Emotion;
  /** Windows of the same size just before it, pooled, are the baseline. */
  baselineWindows: number;
  limit: number;
}

/** The word shift of one bucket against the `baselineWindows` buckets before it, read from the tables. */
export async function readWordShift(store: WordShiftStore, ns: string, request: WordShiftRequest): Promise<WordShift> {
  const ms = WINDOW_MS[request.size];
  const start = bucketStart(request.start, request.size);
  const baselineStart = Math.max(0, start - request.baselineWindows * ms);
  const refs: BucketRef[] = [{ topic: request.topic, size: request.size, start }];
  for (let at = baselineStart; at < start; at += ms) refs.push({ topic: request.topic, size: request.size, start: at });
  const [window = null, ...baseline] = await store.readTables(ns, refs);
  const shift = computeWordShift(mergeTables([window]), mergeTables(baseline), EMOTIONS.indexOf(request.emotion), request.limit);
  return {
    topic: request.topic,
    emotion: request.emotion,
    window: { size: request.size, start, end: start + ms },
    baseline: { start: baselineStart, end: start, windows: refs.length - 1 },
    ...shift,
  };
}

/** GET /api/word-shift: the query as the service answers it, in namespace `ns`; 404 while the bookkeeping is off. */
export function queryWordShift(store: TrendsStore, config: TrendsConfig, ns: string, query: WordShiftQuery): Promise<WordShift> {
  const tables = config.TRENDS_WORD_SHIFT ? store.wordShift : undefined;
  if (tables === undefined) return Promise.reject(new MoodstreamError('NOT_FOUND', 'word shifts are not kept here (TRENDS_WORD_SHIFT=off)'));
  return readWordShift(tables, ns, {
    topic: query.topic,
    size: query.window,
    start: query.start,
    emotion: query.emotion,
    baselineWindows: query.baselineWindows ?? config.TRENDS_WORD_SHIFT_BASELINE_WINDOWS,
    limit: query.limit,
  });
}
