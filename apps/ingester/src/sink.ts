import type { Bus, Producer } from '@moodstream/bus';
import { ValidationError, errorMessage, retry, type Logger, type RetryOptions } from '@moodstream/core';
import { PostSchema, type Post } from '@moodstream/events';
import type { IngestStore, PendingBatch, TagCursor } from '@moodstream/tumblr';
import type { IngesterMetrics } from './metrics';
import type { PostRecorder } from './recorder';

/** How the ingester backs off and when it stops waiting: its clock, its stop signal, its backoff bounds. */
export type Backoff = Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs' | 'jitter' | 'clock' | 'signal'>;

/**
 * Where posts leave the ingester. For each page: drop ids already produced, write the batch ahead to the
 * store, produce (acks=all, retried until acknowledged — never dropped), then commit ids + cursor in one
 * step. A crash between produce and commit leaves the pending batch, which `recover()` reconciles
 * against what the bus actually holds, so every post lands exactly once.
 */
export class PostSink {
  constructor(
    private readonly deps: {
      bus: Bus;
      producer: Producer;
      topic: string;
      store: IngestStore;
      metrics: IngesterMetrics;
      logger: Logger;
      recorder: PostRecorder | null;
      backoff: Backoff;
    },
  ) {}

  /** Produces the new posts of one page and moves the tag's cursor. Returns how many were produced. */
  async deliver(tag: string, cursorKey: string, cursor: TagCursor, posts: Post[]): Promise<number> {
    const unique = new Map<string, Post>();
    for (const post of posts) {
      if (unique.has(post.id)) this.deps.metrics.duplicates.inc({ tag });
      else unique.set(post.id, post);
    }
    const already = await this.deps.store.seen([...unique.keys()]);
    for (const id of already) {
      unique.delete(id);
      this.deps.metrics.duplicates.inc({ tag });
    }
    const fresh = [...unique.values()];
    if (fresh.length === 0) {
      await this.deps.store.commit({ cursorKey, cursor, produced: [] });
      return 0;
    }
    const timestamps = fresh.map((p) => p.timestamp);
    const pending: PendingBatch = {
      cursorKey,
      cursor,
      ids: fresh.map((p) => p.id),
      posts: fresh,
      minTs: Math.min(...timestamps),
      maxTs: Math.max(...timestamps),
    };
    await this.deps.store.setPending(pending);
    await this.produce(fresh);
    await this.deps.store.commit({ cursorKey, cursor, produced: fresh.map((p) => ({ id: p.id, ts: p.timestamp })) });
    for (const post of fresh) this.deps.metrics.posts.inc({ tag, source: post.source });
    await this.deps.recorder?.append(fresh);
    return fresh.length;
  }

  /**
   * After a crash: the pending batch may have been produced in full, in part or not at all. Read the
   * posts topic over the batch's time range, produce only the posts it lacks, then commit.
   */
  async recover(): Promise<number> {
    const pending = await this.deps.store.getPending();
    if (pending === null) return 0;
    const wanted = new Set(pending.ids);
    const present = new Set<string>();
    for await (const records of this.deps.bus.readByTime({ topic: this.deps.topic, eventType: 'Post', from: pending.minTs, to: pending.maxTs + 1 })) {
      for (const record of records) if (wanted.has(record.value.id)) present.add(record.value.id);
    }
    const missing = pending.posts.map((p) => PostSchema.parse(p)).filter((p) => !present.has(p.id));
    this.deps.logger.info({ cursorKey: pending.cursorKey, batch: pending.ids.length, alreadyOnBus: present.size, producing: missing.length }, 'recovering the batch in flight at the last crash');
    if (missing.length > 0) await this.produce(missing);
    await this.deps.store.commit({ cursorKey: pending.cursorKey, cursor: pending.cursor, produced: pending.ids.map((id, i) => ({ id, ts: (pending.posts[i] as Post | undefined)?.timestamp ?? pending.minTs })) });
    for (const post of missing) this.deps.metrics.posts.inc({ tag: post.topics[0] ?? 'unknown', source: post.source });
    await this.deps.recorder?.append(missing);
    return missing.length;
  }

  /**
   * Retries until the bus acknowledges; only a stop ends the attempts (AbortedError: the batch stays pending and is
   * recovered at the next start). A produce begun after the stop still makes its one attempt, so the page in hand
   * finishes when the bus is up.
   */
  async produce(posts: Post[]): Promise<void> {
    const messages = posts.map((post) => ({ key: post.id, value: post, timestamp: post.timestamp }));
    const { backoff, metrics, logger } = this.deps;
    const stopping = backoff.signal?.aborted === true;
    await retry(() => this.deps.producer.send(this.deps.topic, 'Post', messages), {
      ...backoff,
      ...(stopping ? { retries: 0, signal: undefined } : { retries: Infinity }),
      // An event the schema refuses will be refused again: the caller must sort the batch out.
      shouldRetry: (error) => !(error instanceof ValidationError),
      onRetry: (error, attempt, delayMs) => {
        metrics.errors.inc({ kind: 'produce' });
        logger.warn({ err: errorMessage(error), attempt, delayMs, posts: posts.length }, 'produce failed; retrying');
      },
    });
  }
}
