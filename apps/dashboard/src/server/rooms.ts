import { z } from 'zod';
import { WindowSizeSchema, type WindowSize } from '@moodstream/events';

/** A browser's `watch` message is untrusted input: parsed before it names a room. */
export const WatchSelectionSchema = z
  .object({
    topic: z.string().min(1).max(140),
    window: WindowSizeSchema,
    replay: z.string().min(1).max(64).nullable().optional(),
  })
  .strict();

export interface RoomSelection {
  topic: string;
  window: WindowSize;
  replay?: string | null;
}

/** One room per (replay or live, window, topic): a socket receives only the buckets of the chart it shows. */
export function seriesRoom(selection: RoomSelection): string {
  // The topic goes last so a ':' inside it cannot make two selections collide.
  return `series|${selection.replay ?? ''}|${selection.window}|${selection.topic}`;
}

/** Alerts raised inside a replay go only to the sockets watching that replay. */
export function replayRoom(replayId: string): string {
  return `replay|${replayId}`;
}
