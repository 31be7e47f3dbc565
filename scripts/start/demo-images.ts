import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '@moodstream/core';
import type { Emotion, Post } from '@moodstream/events';

/**
 * `npm start -- --demo-images DIR`: serves a local image folder over HTTP on 127.0.0.1 so demo posts
 * can carry image URLs and the scorer's fetch → decode → backbone path runs too.
 * A folder laid out like Emotion6 (anger/, fear/, joy/ …) gives each post an image of its own label;
 * any other folder of images gives each post one of them. Nothing is copied anywhere.
 */
const KEYWORD_OF: Record<Emotion, string> = {
  happy: 'joy',
  sad: 'sadness',
  angry: 'anger',
  surprised: 'surprise',
  scared: 'fear',
  disgusted: 'disgust',
};
const CONTENT_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp' };

export interface DemoImages {
  readonly baseUrl: string;
  readonly imageCount: number;
  /** An image URL for the post, or null for the share of posts that stay text-only. */
  imageFor(post: Pick<Post, 'id' | 'label'>): string | null;
  close(): Promise<void>;
}

function listImages(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && extname(entry.name).toLowerCase() in CONTENT_TYPES) found.push(relative(dir, full).split(sep).join('/'));
    }
  };
  walk(dir);
  return found.sort();
}

/** Stable per post id, so a restart attaches the same images. */
function hashToUnit(id: string, salt: string): number {
  return createHash('sha256').update(salt).update(id).digest().readUInt32BE(0) / 4_294_967_296;
}

export async function startDemoImages(options: { dir: string; share: number; host?: string }): Promise<DemoImages> {
  const root = resolve(options.dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new ConfigError(`--demo-images: ${options.dir} is not a folder`);
  const images = listImages(root);
  if (images.length === 0) throw new ConfigError(`--demo-images: no .jpg/.png/.webp images under ${options.dir}`);
  const byKeyword = new Map<string, string[]>();
  for (const image of images) {
    const keyword = image.split('/')[0] ?? '';
    byKeyword.set(keyword, [...(byKeyword.get(keyword) ?? []), image]);
  }
  const served = new Set(images);

  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/').replace(/^\/+/, '');
    // Only the listed files: no traversal, no directory listings, nothing else on disk.
    if (req.method !== 'GET' || !served.has(path)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', 'cache-control': 'max-age=3600' });
    createReadStream(join(root, path)).pipe(res);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolveListen());
  });
  const baseUrl = `http://${host}:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    imageCount: images.length,
    imageFor(post) {
      if (hashToUnit(post.id, 'share') >= options.share) return null;
      const pool = (post.label === null ? undefined : byKeyword.get(KEYWORD_OF[post.label])) ?? images;
      const image = pool[Math.floor(hashToUnit(post.id, 'pick') * pool.length)] ?? images[0];
      return `${baseUrl}/${(image ?? '').split('/').map(encodeURIComponent).join('/')}`;
    },
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
