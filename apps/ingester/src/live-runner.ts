import { hostname } from 'node:os';
import { errorMessage } from '@moodstream/core';
import { topicBudget, type IngesterReport } from '@moodstream/events';
import { EMPTY_CURSOR } from '@moodstream/tumblr';
import type { ApiContext } from './run-context';
import { walkTags, type TagState } from './tag-walker';

/** A report outlives a few missed rounds, then expires (a stopped ingester stops counting toward the budget shown). */
const REPORT_TTL_POLLS = 3;
const MIN_REPORT_TTL_MS = 30_000;

/**
 * Live: each watched tag is walked from its newest post down to what its cursor already read (on a first run,
 * down to now − INGEST_LIVE_LOOKBACK_MS), then polled again after INGEST_POLL_INTERVAL_MS; until stop().
 * With a topic registry, the tags added at run time are re-read every poll interval: a new one is walked next (its
 * last hour first), a removed one is dropped, and tags beyond what the request budget carries wait (oldest first in).
 */
export async function runLive(ctx: ApiContext, tags: readonly string[]): Promise<void> {
  const stateOf = async (tag: string): Promise<TagState> => {
    const cursorKey = `live:${tag}`;
    const saved = await ctx.store.getCursor(cursorKey);
    if (saved !== null) ctx.logger.info({ tag, cursor: saved }, 'resuming from the saved cursor');
    return { tag, cursorKey, cursor: saved ?? EMPTY_CURSOR, dueAt: 0, finished: false, paused: false };
  };
  const states: TagState[] = [];
  for (const tag of tags) states.push(await stateOf(tag));

  const { registry, config, logger } = ctx;
  const configured = new Set(tags);
  const lastPolled: Record<string, number> = {};
  const ingester = `${hostname()}:${process.pid}`;
  const limits = { perMinute: config.INGEST_BUDGET_PER_MINUTE, perHour: config.INGEST_BUDGET_PER_HOUR, perDay: config.INGEST_BUDGET_PER_DAY };
  const skipped = new Set<string>();

  /** Which run-time tags to poll now: those the budget carries beside the start-up tags, oldest first. */
  const refresh = async (current: readonly TagState[], now: number): Promise<{ add: TagState[]; remove: string[] }> => {
    if (registry === null) return { add: [], remove: [] };
    let listed: string[];
    try {
      listed = (await registry.list()).map((t) => t.tag).filter((tag) => !configured.has(tag));
    } catch (error) {
      // The registry away (Redis down): keep polling what we have, try again next round.
      logger.warn({ err: errorMessage(error) }, 'could not read the watched-topic registry; keeping the current tags');
      return { add: [], remove: [] };
    }
    const { capacity } = topicBudget({ limits, pollIntervalMs: config.INGEST_POLL_INTERVAL_MS, watched: configured.size + listed.length });
    const carried = listed.slice(0, Math.max(0, capacity - configured.size));
    for (const tag of listed.slice(carried.length)) {
      if (!skipped.has(tag)) logger.warn({ tag, capacity }, 'the request budget cannot carry this watched tag; it waits until one is removed');
      skipped.add(tag);
    }
    const have = new Set(current.map((s) => s.tag));
    const add: TagState[] = [];
    for (const tag of carried.filter((t) => !have.has(t))) {
      add.push(await stateOf(tag));
      ctx.watched.add(tag);
      skipped.delete(tag);
      logger.info({ tag }, 'now watching a tag added at run time');
    }
    const remove = current.map((s) => s.tag).filter((tag) => !configured.has(tag) && !carried.includes(tag));
    for (const tag of remove) {
      ctx.watched.delete(tag);
      logger.info({ tag }, 'no longer watching a tag removed at run time');
    }
    const budget = ctx.budget.snapshot();
    const report: IngesterReport = {
      ingester,
      reportedAt: now,
      limits,
      left: budget.left,
      pollIntervalMs: config.INGEST_POLL_INTERVAL_MS,
      tags: [...current.map((s) => s.tag).filter((t) => !remove.includes(t)), ...add.map((s) => s.tag)],
      configured: [...configured],
      lastPolled: { ...lastPolled },
    };
    try {
      await registry.report(report, Math.max(MIN_REPORT_TTL_MS, REPORT_TTL_POLLS * config.INGEST_POLL_INTERVAL_MS));
    } catch (error) {
      logger.warn({ err: errorMessage(error) }, 'could not report the request budget to the topic registry');
    }
    return { add, remove };
  };

  await walkTags(ctx, states, {
    mode: 'live',
    floorMs: (now) => now - ctx.config.INGEST_LIVE_LOOKBACK_MS,
    walkEnded: (state, now) => {
      state.dueAt = now + ctx.config.INGEST_POLL_INTERVAL_MS;
    },
    // A live run with every tag refused has nothing left to do: it fails rather than idle as if healthy.
    failWhenAllRefused: true,
    ...(registry === null
      ? {}
      : {
          // Within one poll interval of a change, whatever the tags' own schedule.
          refresh: { everyMs: Math.min(config.INGEST_POLL_INTERVAL_MS, 10_000), run: refresh },
          onPolled: (tag: string, now: number) => {
            lastPolled[tag] = now;
          },
        }),
  });
}
