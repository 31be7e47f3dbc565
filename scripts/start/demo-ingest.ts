import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage, sleep, systemClock, type Clock } from '@moodstream/core';
import type { ScheduledPost } from './demo-plan';

/**
 * Feeds the demo through the real ingester in archive mode. The ingester replays a file at N× the
 * gaps between its timestamps, starting when it starts; so the launcher writes the schedule out in
 * pieces whose timestamps already sit where they should:
 * - the history (timestamps in the past) as one file replayed at `historySpeed`× — in timestamp order, which
 *   the aggregator's event-time windows need; at `max` a parallel pipeline would reorder it;
 * - then each lap's live part (timestamps = the moment each post is due) replayed at 1×, started at
 *   the lap's first due time — one ingester run per lap, so the demo goes on for as long as it runs.
 * `runArchive` is the ingester: in-process (embedded mode) or a child process (distributed mode).
 */
export interface ArchiveRun {
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export type RunArchive = (file: string, speed: number) => Promise<ArchiveRun>;

export interface DemoIngest {
  /** Resolves when the history has been produced. */
  readonly historyDone: Promise<void>;
  /** Rejects if an ingester run fails; never resolves otherwise. */
  readonly failed: Promise<never>;
  /** Laps started so far (the history counts as none). */
  laps(): number;
  stop(): Promise<void>;
}

/** Pulls items off the schedule: the history, then one lap at a time. */
class ScheduleReader {
  private pending: ScheduledPost | undefined;

  constructor(private readonly schedule: Iterator<ScheduledPost>) {}

  private peek(): ScheduledPost | undefined {
    if (this.pending === undefined) {
      const next = this.schedule.next();
      this.pending = next.done === true ? undefined : next.value;
    }
    return this.pending;
  }

  /** Consecutive items satisfying `same` with the first one; empty at the end of the schedule. */
  takeWhile(same: (first: ScheduledPost, item: ScheduledPost) => boolean): ScheduledPost[] {
    const first = this.peek();
    if (first === undefined) return [];
    const taken: ScheduledPost[] = [];
    for (let item = this.peek(); item !== undefined && same(first, item); item = this.peek()) {
      taken.push(item);
      this.pending = undefined;
    }
    return taken;
  }
}

/** Items due longer ago than this are overdue (a resumed session); a few late ones just play with their lap. */
const OVERDUE_MS = 10_000;

async function writeNdjson(file: string, items: ScheduledPost[]): Promise<void> {
  await writeFile(file, items.map((item) => JSON.stringify(item.post)).join('\n') + '\n');
}

export function startDemoIngest(options: {
  schedule: Iterator<ScheduledPost>;
  dir: string;
  runArchive: RunArchive;
  /** Must match the schedule's (demoSchedule's `historySpeed`). */
  historySpeed: number;
  clock?: Clock;
}): DemoIngest {
  const clock = options.clock ?? systemClock;
  const reader = new ScheduleReader(options.schedule);
  // Aborted by stop(): ends the wait for the next lap at once.
  const stopping = new AbortController();
  let current: ArchiveRun | null = null;
  let laps = 0;
  let markHistoryDone: () => void = () => undefined;
  const historyDone = new Promise<void>((resolve) => {
    markHistoryDone = resolve;
  });

  const play = async (file: string, items: ScheduledPost[], speed: number): Promise<void> => {
    await writeNdjson(file, items);
    try {
      // stop() while the file was being written finds no run to stop: don't start one.
      if (stopping.signal.aborted) return;
      current = await options.runArchive(file, speed);
      await current.done;
    } finally {
      current = null;
      await rm(file, { force: true });
    }
  };

  const loop = async (): Promise<void> => {
    const history = reader.takeWhile((_, item) => item.history);
    if (history.length > 0) await play(join(options.dir, 'demo-history.ndjson'), history, options.historySpeed);
    markHistoryDone();
    while (!stopping.signal.aborted) {
      const lap = reader.takeWhile((first, item) => item.lap === first.lap && !item.history);
      if (lap.length === 0) return;
      // A resumed session: what fell due while the demo was down is produced now, at the history's speed, with the
      // times it was due; the rest of the lap then plays in real time.
      const overdue = lap.filter((item) => item.emitAt < clock.now() - OVERDUE_MS);
      if (overdue.length > 0) await play(join(options.dir, `demo-lap-${lap[0]?.lap ?? 0}-overdue.ndjson`), overdue, options.historySpeed);
      const rest = lap.slice(overdue.length);
      const first = rest[0];
      if (first === undefined) continue;
      lap.splice(0, lap.length, ...rest);
      if (!(await sleep(first.emitAt - clock.now(), { clock, signal: stopping.signal }))) return;
      laps++;
      await play(join(options.dir, `demo-lap-${first.lap}.ndjson`), lap, 1);
    }
  };

  const running = loop();
  const failed = running.then(
    () => new Promise<never>(() => undefined),
    (error: unknown) => {
      markHistoryDone();
      throw new Error(`demo ingest failed: ${errorMessage(error)}`, { cause: error });
    },
  );
  failed.catch(() => undefined);

  return {
    historyDone,
    failed,
    laps: () => laps,
    async stop() {
      stopping.abort();
      await current?.stop();
      await running.catch(() => undefined);
    },
  };
}
