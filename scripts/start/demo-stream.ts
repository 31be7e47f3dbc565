import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ConfigError } from '@moodstream/core';
import { PostSchema, describeZodError, type Post } from '@moodstream/events';
import { loadDemoManifest, type DemoManifest } from '../demo/manifest';

export interface DemoStream {
  manifest: DemoManifest;
  posts: Post[];
}

/** Reads and validates the committed demo stream; a broken line names its line number. */
export async function loadDemoStream(file: string): Promise<DemoStream> {
  const manifest = await loadDemoManifest(join(dirname(file), 'manifest.json'));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the demo stream ${file}: ${(error as Error).message}`);
  }
  const posts: Post[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new ConfigError(`${file}:${index + 1}: not JSON (${(error as Error).message})`);
    }
    const parsed = PostSchema.safeParse(json);
    if (!parsed.success) throw new ConfigError(`${file}:${index + 1}: invalid Post: ${describeZodError(parsed.error)}`);
    posts.push(parsed.data);
  });
  posts.sort((a, b) => a.timestamp - b.timestamp);
  return { manifest, posts };
}
