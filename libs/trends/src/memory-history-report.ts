import type { Logger } from '@moodstream/core';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HistoryBudget, HistoryEviction } from './memory-history';

const mb = (bytes: number): number => Math.round(bytes / 1024 / 102.4) / 10;

/**
 * What an operator sees of the embedded store's history budget: the estimate and the budget as gauges, evictions
 * counted by tier and window size, and a log line per eviction: a warning when something changes (the first drop:
 * older history is thinner from now on; the first counts dropped; the protected history alone going over the budget),
 * each naming the setting, and info otherwise.
 */
export function reportedHistoryBudget(options: {
  budgetBytes: number;
  keepMs: number;
  registry: Registry;
  logger: Logger;
  /** The store's current estimate, read on each scrape. */
  historyBytes: () => number | null;
  /** The setting that sets the budget, for the log line. */
  setting: string;
}): HistoryBudget {
  const { registry, logger } = options;
  new Gauge({
    name: 'moodstream_trends_memory_history_bytes',
    help: 'Estimated heap bytes of the in-memory trends history (buckets, word-shift tables, example posts)',
    registers: [registry],
    collect() {
      const bytes = options.historyBytes();
      if (bytes !== null) this.set(bytes);
    },
  });
  new Gauge({ name: 'moodstream_trends_memory_history_budget_bytes', help: 'Budget of the in-memory trends history', registers: [registry] }).set(options.budgetBytes);
  const evicted = new Counter({
    name: 'moodstream_trends_memory_history_evicted_total',
    help: 'History entries the in-memory trends store dropped to stay in its budget, by tier (detail: word-shift tables and examples; counts: buckets) and window size',
    labelNames: ['tier', 'size'] as const,
    registers: [registry],
  });
  // Warnings say what changed (the first drop, the first counts dropped, the budget becoming too small); the rest is info.
  let dropping = false;
  let droppingCounts = false;
  let overBudget = false;
  return {
    budgetBytes: options.budgetBytes,
    keepMs: options.keepMs,
    onEvict(eviction: HistoryEviction) {
      let any = false;
      for (const [tier, sizes] of Object.entries(eviction.dropped)) {
        for (const [size, count] of Object.entries(sizes)) {
          evicted.inc({ tier, size }, count);
          any = true;
        }
      }
      const fields = {
        beforeMb: mb(eviction.beforeBytes),
        afterMb: mb(eviction.afterBytes),
        budgetMb: mb(eviction.budgetBytes),
        dropped: eviction.dropped,
        droppedUpTo: eviction.droppedUpTo === null ? null : new Date(eviction.droppedUpTo).toISOString(),
      };
      const countsGone = Object.keys(eviction.dropped.counts).length > 0;
      if (eviction.overBudget && !overBudget) {
        logger.warn(fields, `trends history: what the last ${Math.round(options.keepMs / 60_000)} minutes need is over the budget; raise ${options.setting}`);
      } else if (countsGone && !droppingCounts) {
        logger.warn(fields, `trends history: no older detail left to drop, so the oldest bucket counts go too (charts lose their oldest points); raise ${options.setting}`);
      } else if (any && !dropping) {
        logger.warn(fields, `trends history reached its memory budget (${options.setting}): the oldest word shifts and example posts are dropped from now on, finest windows first; counts stay`);
      } else if (any) {
        logger.info(fields, 'trends history: dropped the oldest to stay in its memory budget');
      }
      overBudget = eviction.overBudget;
      droppingCounts ||= countsGone;
      dropping ||= any;
    },
  };
}
