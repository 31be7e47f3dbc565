import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartConfig } from './config';
import type { DemoImages } from './demo-images';
import { startDemoIngest, type RunArchive } from './demo-ingest';
import { demoSchedule, plantedShiftWindow } from './demo-plan';
import { loadDemoStream } from './demo-stream';

/** The demo as both modes run it: the committed stream, scheduled around now, fed through the ingester. */
export interface DemoRun {
  posts: number;
  shift: ReturnType<typeof plantedShiftWindow>;
  historyDone: Promise<void>;
  failed: Promise<never>;
  stop(): Promise<void>;
}

export async function startDemoRun(options: { config: StartConfig; images: DemoImages | null; runArchive: RunArchive; now?: number }): Promise<DemoRun> {
  const { config, images } = options;
  const stream = await loadDemoStream(config.DEMO_FILE);
  const t0 = options.now ?? Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'moodstream-demo-'));
  const demo = startDemoIngest({
    schedule: demoSchedule({
      manifest: stream.manifest,
      posts: stream.posts,
      t0,
      leadMinutes: config.DEMO_LEAD_MINUTES,
      speed: config.DEMO_SPEED,
      ...(images === null ? {} : { imageFor: (post) => images.imageFor(post) }),
    }),
    dir,
    runArchive: options.runArchive,
  });
  return {
    posts: stream.posts.length,
    shift: plantedShiftWindow(stream.manifest, t0, config.DEMO_LEAD_MINUTES, config.DEMO_SPEED),
    historyDone: demo.historyDone,
    failed: demo.failed,
    async stop() {
      await demo.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
