import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Post } from '@moodstream/events';

/** `--record FILE`: appends each produced post as one JSON line, after the bus acknowledged it. */
export class PostRecorder {
  private ready: Promise<void> | null = null;

  constructor(readonly path: string) {}

  async append(posts: readonly Post[]): Promise<void> {
    if (posts.length === 0) return;
    this.ready ??= mkdir(dirname(this.path), { recursive: true }).then(() => undefined);
    await this.ready;
    await appendFile(this.path, posts.map((p) => JSON.stringify(p)).join('\n') + '\n');
  }
}
