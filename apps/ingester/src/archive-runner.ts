import { replayArchive } from './archive';
import type { IngestMode } from './cli';
import type { RunContext } from './run-context';

type Archive = Extract<IngestMode, { mode: 'archive' }>;

/** Archive: an NDJSON file of posts replayed onto the posts topic at `speed`, teed to the recorder; no API calls. */
export async function runArchive(ctx: RunContext, run: Pick<Archive, 'file' | 'speed'>): Promise<void> {
  const { clock, logger, metrics, signal, sink, recorder } = ctx;
  const result = await replayArchive({
    file: run.file,
    speed: run.speed,
    clock,
    logger,
    metrics,
    signal,
    send: async (posts) => {
      await sink.produce(posts);
      await recorder?.append(posts);
    },
  });
  ctx.stats.produced += result.produced;
  logger.info({ ...result, file: run.file }, 'archive replay finished');
}
