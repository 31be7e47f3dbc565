import type { Emotion, Post } from '@moodstream/events';
import type { DemoManifest } from '../demo/manifest';

/**
 * Turns the committed demo stream (fictional June 2024 timestamps) into a schedule around "now".
 *
 * The stream is cut at `leadMinutes` into its planted shift:
 * - posts before the cut are history, replayed from `startAt` at `historySpeed`× in timestamp order
 *   (in order, so the aggregator closes each window with all of its posts), and stamped so that the
 *   history ends exactly when the live part begins: a stamp is never in the future, and there is no gap;
 * - posts after the cut are live: produced at `liveStart + (streamTime − cut) / speed` and stamped with
 *   that moment, so the chart's newest point is always the current minute.
 * After the stream ends it starts over (lap 1, 2, …) with fresh ids, forever.
 */
export interface DemoPlanOptions {
  manifest: DemoManifest;
  /** The stream's posts in timestamp order. */
  posts: readonly Post[];
  /** Wall-clock start, epoch ms: when the history replay begins. */
  startAt: number;
  /** Multiple of real time at which the history is replayed. */
  historySpeed: number;
  /** How far into the planted shift "now" falls, in minutes (may be negative: before the shift). */
  leadMinutes: number;
  /** Multiple of real time for the live part. */
  speed: number;
  /** Gives some live posts an image (see demo-images.ts); history stays text-only so start-up is quick. */
  imageFor?: (post: Post) => string | null;
  /** Maps every post id (after the lap's offset): a new demo session gets ids of its own (demo-session.ts). */
  mapId?: (id: string) => string;
}

export interface ScheduledPost {
  /** When to produce it, epoch ms. */
  emitAt: number;
  post: Post;
  history: boolean;
  /** 0 for the first pass through the stream, then 1, 2, … */
  lap: number;
}

const LAP_ID_STRIDE = 100_000_000_000n;

export function demoCut(manifest: DemoManifest, leadMinutes: number): number {
  const minute = Math.min(manifest.durationMinutes, Math.max(0, manifest.plantedShift.startMinute + leadMinutes));
  return manifest.streamStart + minute * 60_000;
}

/** When the live part starts: after the history, replayed at `historySpeed`, has played out. */
export function demoLiveStart(options: Pick<DemoPlanOptions, 'manifest' | 'startAt' | 'historySpeed' | 'leadMinutes'>): number {
  const span = demoCut(options.manifest, options.leadMinutes) - options.manifest.streamStart;
  return Math.round(options.startAt + span / options.historySpeed);
}

export function* demoSchedule(options: DemoPlanOptions): Generator<ScheduledPost> {
  const { manifest, posts, speed, historySpeed } = options;
  if (!(speed > 0) || !(historySpeed > 0)) throw new RangeError(`speeds must be positive, got ${speed} and ${historySpeed}`);
  const cut = demoCut(manifest, options.leadMinutes);
  const t0 = demoLiveStart(options);
  const lapMs = manifest.durationMinutes * 60_000;
  for (let lap = 0; ; lap++) {
    if (posts.length === 0) return;
    for (const original of posts) {
      const streamTime = original.timestamp + lap * lapMs;
      const lapped = lap === 0 ? original.id : lapId(original.id, lap);
      const id = options.mapId?.(lapped) ?? lapped;
      if (streamTime < cut) {
        const timestamp = t0 - (cut - streamTime);
        const emitAt = Math.round(options.startAt + (streamTime - manifest.streamStart) / historySpeed);
        yield { emitAt, history: true, lap, post: { ...original, id, url: lapUrl(original, id), timestamp, ingestedAt: emitAt } };
        continue;
      }
      const emitAt = Math.round(t0 + (streamTime - cut) / speed);
      const post: Post = { ...original, id, url: lapUrl(original, id), timestamp: emitAt, ingestedAt: emitAt };
      const imageUrl = options.imageFor?.(post) ?? null;
      yield { emitAt, history: false, lap, post: imageUrl === null ? post : { ...post, imageUrl } };
    }
  }
}

function lapId(id: string, lap: number): string {
  return /^\d+$/.test(id) ? String(BigInt(id) + BigInt(lap) * LAP_ID_STRIDE) : `${id}-${lap}`;
}

function lapUrl(post: Post, id: string): string {
  return id === post.id ? post.url : post.url.replace(post.id, id);
}

/** Where the planted shift sits in event time (post timestamps) for a given live start, for progress lines and tests. */
export function plantedShiftWindow(manifest: DemoManifest, t0: number, leadMinutes: number, speed: number): { topic: string; emotion: Emotion; from: number; to: number } {
  const cut = demoCut(manifest, leadMinutes);
  const at = (minute: number): number => {
    const streamTime = manifest.streamStart + minute * 60_000;
    return streamTime < cut ? t0 - (cut - streamTime) : Math.round(t0 + (streamTime - cut) / speed);
  };
  const shift = manifest.plantedShift;
  return { topic: shift.topic, emotion: shift.emotion, from: at(shift.startMinute), to: at(shift.endMinute) };
}
