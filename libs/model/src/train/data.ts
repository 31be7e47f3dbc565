import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { EMOTIONS, PostSchema, type Emotion, type Post } from '@moodstream/events';
import { ValidationError } from '@moodstream/core';

export interface TextExample {
  text: string;
  label: number;
}

export interface ImageExample {
  /** Path relative to the images root (keyword/file.jpg): stable identity for splits. */
  id: string;
  file: string;
  label: number;
}

/** Emotion6's search keywords, mapped to the six classes. */
const KEYWORD_TO_EMOTION: Record<string, Emotion> = {
  joy: 'happy',
  sadness: 'sad',
  anger: 'angry',
  surprise: 'surprised',
  fear: 'scared',
  disgust: 'disgusted',
};

export function labelIndex(name: string): number | null {
  const key = name.trim().toLowerCase();
  const emotion = (EMOTIONS as readonly string[]).includes(key) ? key : KEYWORD_TO_EMOTION[key];
  return emotion === undefined ? null : EMOTIONS.indexOf(emotion as Emotion);
}

/** Reads a `text<TAB>label` TSV (header optional); rows with unknown labels are an error, not silently dropped. */
export async function readTextTsv(file: string): Promise<TextExample[]> {
  const lines = (await readFile(file, 'utf8')).split(/\r?\n/);
  const out: TextExample[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const tab = line.lastIndexOf('\t');
    if (tab < 0) throw new ValidationError(`${file}:${i + 1}: expected text<TAB>label`);
    const text = line.slice(0, tab);
    const labelName = line.slice(tab + 1);
    if (i === 0 && text === 'text' && labelName === 'label') return;
    const label = labelIndex(labelName);
    if (label === null) throw new ValidationError(`${file}:${i + 1}: unknown label '${labelName}'`);
    out.push({ text, label });
  });
  return out;
}

/** Reads a folder with one sub-folder per class (six class names or Emotion6 keywords). */
export async function readImageFolder(root: string): Promise<ImageExample[]> {
  const out: ImageExample[] = [];
  const dirs = (await readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  for (const dir of dirs) {
    const label = labelIndex(dir);
    if (label === null) continue;
    const files = (await readdir(path.join(root, dir))).filter((f) => /\.(jpe?g|png|webp|gif|bmp|tiff?)$/i.test(f)).sort();
    for (const f of files) out.push({ id: `${dir}/${f}`, file: path.join(root, dir, f), label });
  }
  return out;
}

/**
 * The fixed image split: within each class, images are ordered by a hash of their id and every
 * fifth (rank % 5 === 0) is the held-out test fifth; rank % 10 === 1 is the dev tenth used for
 * early stopping and calibration. Never trained on: test and dev.
 */
export function splitImages(images: readonly ImageExample[]): { train: ImageExample[]; dev: ImageExample[]; test: ImageExample[] } {
  const train: ImageExample[] = [];
  const dev: ImageExample[] = [];
  const test: ImageExample[] = [];
  for (let c = 0; c < EMOTIONS.length; c++) {
    const ranked = images
      .filter((im) => im.label === c)
      .map((im) => ({ im, h: createHash('sha1').update(im.id).digest('hex') }))
      .sort((a, b) => (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
    ranked.forEach(({ im }, rank) => {
      if (rank % 5 === 0) test.push(im);
      else if (rank % 10 === 1) dev.push(im);
      else train.push(im);
    });
  }
  return { train, dev, test };
}

/** Reads labelled posts (NDJSON of Post); malformed or unlabelled lines are counted and skipped. */
export async function readPostsNdjson(file: string): Promise<{ posts: Array<Post & { label: Emotion }>; skipped: number }> {
  const posts: Array<Post & { label: Emotion }> = [];
  let skipped = 0;
  for (const line of (await readFile(file, 'utf8')).split(/\r?\n/)) {
    if (line.trim() === '') continue;
    try {
      const post = PostSchema.parse(JSON.parse(line));
      if (post.label === null) skipped++;
      else posts.push(post as Post & { label: Emotion });
    } catch {
      skipped++;
    }
  }
  return { posts, skipped };
}
