import { initialBackfillCursor } from '@moodstream/tumblr';
import type { IngestMode } from './cli';
import type { ApiContext } from './run-context';
import { walkTags, type TagState } from './tag-walker';

type Backfill = Extract<IngestMode, { mode: 'backfill' }>;

/**
 * Backfill: each tag is walked once from `to` (exclusive) down to `from`; the run ends when every tag is done. Its
 * cursors are keyed by the range, so a restarted backfill of the same range resumes and a new range starts afresh.
 */
export async function runBackfill(ctx: ApiContext, tags: readonly string[], range: Pick<Backfill, 'from' | 'to'>): Promise<void> {
  const states: TagState[] = [];
  for (const tag of tags) {
    const cursorKey = `backfill:${tag}:${range.from}:${range.to}`;
    const saved = await ctx.store.getCursor(cursorKey);
    const cursor = saved ?? initialBackfillCursor(range.to);
    states.push({ tag, cursorKey, cursor, dueAt: 0, finished: cursor.done === true, paused: false });
    if (saved !== null) ctx.logger.info({ tag, cursor: saved }, 'resuming from the saved cursor');
  }
  await walkTags(ctx, states, {
    mode: 'backfill',
    floorMs: () => range.from,
    ceilingMs: range.to,
    walkEnded: (state) => {
      state.finished = true;
    },
    failWhenAllRefused: false,
  });
  if (states.every((s) => s.finished)) {
    const paused = states.filter((s) => s.paused).map((s) => s.tag);
    ctx.logger.info({ tags, paused, produced: ctx.stats.produced, requests: ctx.stats.requests }, 'backfill finished');
  }
}
