import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ValidationError, createLimit, sleep, type Clock, type Logger } from '@moodstream/core';
import { PostSchema, describeZodError, type Post } from '@moodstream/events';
import type { IngesterMetrics } from './metrics';

export interface ArchiveOptions {
  file: string;
  /** N× real time, or as fast as the bus takes it. */
  speed: number | 'max';
  clock: Clock;
  logger: Logger;
  metrics: IngesterMetrics;
  /** Ends the replay: no further line is read and a wait for the next post's time ends at once. */
  signal: AbortSignal;
  /** Produces one batch; resolves when acknowledged (the sink retries failures). */
  send: (posts: Post[]) => Promise<void>;
  batchSize?: number;
  /** At --speed max, how many batches may be in flight at once. */
  inFlight?: number;
}

export interface ArchiveResult {
  produced: number;
  duplicates: number;
  skipped: number;
}

/**
 * Replays an NDJSON file of Post records. Timing: a post is sent when (its timestamp − the first post's
 * timestamp) / speed has passed since the replay began; at `max` there is no waiting. A bad line is
 * counted and skipped; a repeated id is dropped.
 */
export async function replayArchive(options: ArchiveOptions): Promise<ArchiveResult> {
  const batchSize = options.batchSize ?? (options.speed === 'max' ? 1000 : 200);
  const maxInFlight = options.speed === 'max' ? (options.inFlight ?? 4) : 1;
  const seen = new Set<string>();
  const result: ArchiveResult = { produced: 0, duplicates: 0, skipped: 0 };
  // Batches go out in file order, `maxInFlight` at a time; the reader waits for a free slot (back-pressure).
  const sending = createLimit(maxInFlight);
  let batch: Post[] = [];
  let firstTs: number | null = null;
  const startedAt = options.clock.now();
  let lineNumber = 0;
  let failure: unknown = null;

  const sendValid = async (posts: Post[]): Promise<Post[]> => {
    try {
      await options.send(posts);
      return posts;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const valid: Post[] = [];
      for (const post of posts) {
        const parsed = PostSchema.safeParse(post);
        if (parsed.success) valid.push(parsed.data);
        else {
          options.metrics.skipped.inc({ reason: 'archive-invalid-post' });
          result.skipped++;
          options.logger.debug({ id: post.id, reason: describeZodError(parsed.error) }, 'archive post skipped');
        }
      }
      if (valid.length > 0) await options.send(valid);
      return valid;
    }
  };

  const throwIfFailed = (): void => {
    if (failure !== null) throw failure;
  };

  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const posts = batch;
    batch = [];
    void sending.run(() => sendValid(posts)).then(
      (sent) => {
        result.produced += sent.length;
        // One counter update per tag and batch: per-post label lookups cost more than the parsing.
        const perTag = new Map<string, number>();
        for (const post of sent) perTag.set(post.topics[0] ?? 'unknown', (perTag.get(post.topics[0] ?? 'unknown') ?? 0) + 1);
        for (const [tag, n] of perTag) options.metrics.posts.inc({ tag, source: 'archive' }, n);
      },
      (error: unknown) => {
        failure ??= error;
      },
    );
    // Every slot taken: read on only once one frees (a no-op run through the limit starts exactly then).
    if (sending.activeCount + sending.pendingCount >= maxInFlight) await sending.run(() => undefined);
    throwIfFailed();
  };

  /** Everything handed to the bus acknowledged (or failed). */
  const drain = async (): Promise<void> => {
    await flush();
    await sending.idle();
    throwIfFailed();
  };

  const lines = createInterface({ input: createReadStream(options.file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNumber++;
      if (options.signal.aborted) break;
      if (line.trim() === '') continue;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        options.logger.debug({ line: lineNumber }, 'archive line is not JSON');
        options.metrics.skipped.inc({ reason: 'archive-not-json' });
        result.skipped++;
        continue;
      }
      // Full validation happens once, in the producer; a batch it refuses is sorted out post by post.
      if (typeof json !== 'object' || json === null || typeof (json as { id?: unknown }).id !== 'string' || typeof (json as { timestamp?: unknown }).timestamp !== 'number') {
        options.metrics.skipped.inc({ reason: 'archive-invalid-post' });
        result.skipped++;
        continue;
      }
      const post = { ...(json as Post), source: 'archive' } as Post;
      if (seen.has(post.id)) {
        options.metrics.duplicates.inc({ tag: post.topics[0] ?? 'unknown' });
        result.duplicates++;
        continue;
      }
      seen.add(post.id);
      if (options.speed !== 'max') {
        firstTs ??= post.timestamp;
        const dueAt = startedAt + (post.timestamp - firstTs) / options.speed;
        const wait = dueAt - options.clock.now();
        if (wait > 0) {
          await drain();
          if (!(await sleep(wait, { clock: options.clock, signal: options.signal }))) break;
        }
      }
      batch.push(post);
      if (batch.length >= batchSize) await flush();
    }
    await drain();
  } finally {
    lines.close();
  }
  return result;
}
