import { createHash } from 'node:crypto';
import type { Emotion, WindowSize } from '@moodstream/events';

/**
 * Deterministic, so re-evaluating a window after a restart or in a second replay run
 * yields the same id and the store keeps a single alert.
 */
export function alertId(parts: { replayId: string | null; topic: string; emotion: Emotion; size: WindowSize; start: number }): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([parts.replayId, parts.topic, parts.emotion, parts.size, parts.start]))
    .digest('hex')
    .slice(0, 24);
  return `al_${digest}`;
}
