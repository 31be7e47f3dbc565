import { EMPTY_CURSOR } from '@moodstream/tumblr';
import type { ApiContext } from './run-context';
import { walkTags, type TagState } from './tag-walker';

/**
 * Live: each watched tag is walked from its newest post down to what its cursor already read (on a first run,
 * down to now − INGEST_LIVE_LOOKBACK_MS), then polled again after INGEST_POLL_INTERVAL_MS; until stop().
 */
export async function runLive(ctx: ApiContext, tags: readonly string[]): Promise<void> {
  const states: TagState[] = [];
  for (const tag of tags) {
    const cursorKey = `live:${tag}`;
    const saved = await ctx.store.getCursor(cursorKey);
    states.push({ tag, cursorKey, cursor: saved ?? EMPTY_CURSOR, dueAt: 0, finished: false, paused: false });
    if (saved !== null) ctx.logger.info({ tag, cursor: saved }, 'resuming from the saved cursor');
  }
  await walkTags(ctx, states, {
    mode: 'live',
    floorMs: (now) => now - ctx.config.INGEST_LIVE_LOOKBACK_MS,
    walkEnded: (state, now) => {
      state.dueAt = now + ctx.config.INGEST_POLL_INTERVAL_MS;
    },
    // A live run with every tag refused has nothing left to do: it fails rather than idle as if healthy.
    failWhenAllRefused: true,
  });
}
