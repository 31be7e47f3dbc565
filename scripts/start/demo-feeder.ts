import type { Producer } from '@moodstream/bus';
import { systemClock, type Clock } from '@moodstream/core';
import type { Post } from '@moodstream/events';
import type { ScheduledPost } from './demo-plan';

/**
 * Produces a demo schedule onto the posts topic: everything due at once in batches (the history),
 * then each post when its time comes. One timer at a time, so a long demo holds no backlog in memory.
 */
export interface DemoFeeder {
  /** Resolves once the history part has been produced. */
  readonly historyDone: Promise<void>;
  produced(): number;
  stop(): Promise<void>;
}

export function startDemoFeeder(options: {
  schedule: Iterator<ScheduledPost>;
  send: (posts: Post[]) => Promise<void>;
  clock?: Clock;
  batchSize?: number;
  onError: (error: unknown) => void;
}): DemoFeeder {
  const clock = options.clock ?? systemClock;
  const batchSize = options.batchSize ?? 500;
  let stopped = false;
  let produced = 0;
  let pending: ScheduledPost | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  let markHistoryDone: () => void = () => undefined;
  const historyDone = new Promise<void>((resolve) => {
    markHistoryDone = resolve;
  });

  const take = (): ScheduledPost | undefined => {
    if (pending !== undefined) {
      const item = pending;
      pending = undefined;
      return item;
    }
    const next = options.schedule.next();
    return next.done === true ? undefined : next.value;
  };

  const tick = async (): Promise<void> => {
    timer = undefined;
    while (!stopped) {
      const now = clock.now();
      const batch: Post[] = [];
      let item = take();
      while (item !== undefined && item.emitAt <= now && batch.length < batchSize) {
        batch.push(item.post);
        item = take();
      }
      pending = item;
      if (batch.length > 0) {
        await options.send(batch);
        produced += batch.length;
      }
      if (pending === undefined || !pending.history) markHistoryDone();
      if (pending === undefined) return;
      if (pending.emitAt > clock.now()) {
        timer = clock.setTimeout(run, pending.emitAt - clock.now());
        return;
      }
    }
  };

  function run(): void {
    inFlight = tick().catch((error: unknown) => {
      stopped = true;
      options.onError(error);
    });
  }

  run();
  return {
    historyDone,
    produced: () => produced,
    async stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await inFlight;
    },
  };
}

/** The feeder's sink for a bus producer: keyed by post id, record time = post time, as the ingester produces. */
export function producePosts(producer: Producer, topic: string): (posts: Post[]) => Promise<void> {
  return (posts) => producer.send(topic, 'Post', posts.map((post) => ({ key: post.id, value: post, timestamp: post.timestamp })));
}
