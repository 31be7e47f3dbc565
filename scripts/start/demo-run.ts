import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartConfig } from './config';
import type { DemoImages } from './demo-images';
import { startDemoIngest, type RunArchive } from './demo-ingest';
import { demoLiveStart, demoSchedule, plantedShiftWindow } from './demo-plan';
import type { DemoSession } from './demo-session';
import { sessionId } from './demo-session';
import { loadDemoStream } from './demo-stream';

/** The demo as both modes run it: the committed stream, scheduled around now, fed through the ingester. */
export interface DemoRun {
  posts: number;
  shift: ReturnType<typeof plantedShiftWindow>;
  historyDone: Promise<void>;
  failed: Promise<never>;
  stop(): Promise<void>;
}

/**
 * `session` (distributed mode): the demo's start time and id space across restarts (demo-session.ts); a resumed one
 * replays what was due while it was down at the history's speed, with the same times and ids.
 */
export async function startDemoRun(options: { config: StartConfig; images: DemoImages | null; runArchive: RunArchive; now?: number; session?: DemoSession }): Promise<DemoRun> {
  const { config, images } = options;
  const stream = await loadDemoStream(config.DEMO_FILE);
  const timing = {
    manifest: stream.manifest,
    startAt: options.session?.startAt ?? options.now ?? Date.now(),
    historySpeed: config.DEMO_HISTORY_SPEED,
    leadMinutes: config.DEMO_LEAD_MINUTES,
  };
  const dir = await mkdtemp(join(tmpdir(), 'moodstream-demo-'));
  const demo = startDemoIngest({
    schedule: demoSchedule({
      ...timing,
      posts: stream.posts,
      speed: config.DEMO_SPEED,
      ...(images === null ? {} : { imageFor: (post) => images.imageFor(post) }),
      ...(options.session === undefined || options.session.session === 0 ? {} : { mapId: (id: string) => sessionId(id, options.session!.session) }),
    }),
    dir,
    runArchive: options.runArchive,
    historySpeed: config.DEMO_HISTORY_SPEED,
  });
  return {
    posts: stream.posts.length,
    shift: plantedShiftWindow(stream.manifest, demoLiveStart(timing), config.DEMO_LEAD_MINUTES, config.DEMO_SPEED),
    historyDone: demo.historyDone,
    failed: demo.failed,
    async stop() {
      await demo.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
