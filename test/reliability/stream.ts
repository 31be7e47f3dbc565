import { seededRandom } from '@moodstream/core';
import type { Post } from '@moodstream/events';
import { buildPost, type RawTumblrPost } from '@moodstream/tumblr';
import type { DemoManifest } from '../../scripts/demo/manifest';

/**
 * The suite's seeded stream with known ground truth. The texts and the planted mood shift come from the committed demo
 * stream (data/demo: GoEmotions texts whose shift the model detects); the seed places every post at its own second
 * within its minute, numbers the ids, and decides every fault's moment. Each post carries exactly one watched topic,
 * so the ground truth is simple: per topic and 1-minute bucket, the number of distinct posts published in it.
 */
export interface StreamPost {
  id: string;
  topic: string;
  /** Offset from the stream's start, ms (a whole second). */
  offsetMs: number;
  raw: RawTumblrPost;
  /** Whether the post carries an image (only in the image-host scenario). */
  image: boolean;
}

export interface SeededStream {
  seed: number;
  durationMs: number;
  topics: string[];
  /** In offset order (the order the stand-in reveals them). */
  posts: StreamPost[];
  plantedShift: DemoManifest['plantedShift'];
}

const EMOTION_TAGS = new Set(['happy', 'sad', 'angry', 'surprised', 'scared', 'disgusted']);
const MINUTE = 60_000;

export interface StreamOptions {
  seed: number;
  /** Keep only the first `minutes` minutes of the demo stream (default: all of it). */
  minutes?: number;
  /** Share of posts (0..1) given an image URL at `imageBase` (the image-host scenario). */
  imageShare?: number;
  imageUrl?: (id: string) => string;
}

export function seededStream(manifest: DemoManifest, demo: readonly Post[], options: StreamOptions): SeededStream {
  const random = seededRandom(options.seed);
  // A source of its own: which posts carry an image must not move the others' placement (the reference comparison).
  const imageRandom = seededRandom(options.seed + 7_919);
  const minutes = Math.min(manifest.durationMinutes, options.minutes ?? manifest.durationMinutes);
  const firstId = 800_000_000_000_000_000n + BigInt(options.seed % 1_000_000) * 100_000n;
  const posts: StreamPost[] = [];
  demo.forEach((post, index) => {
    const minute = Math.floor((post.timestamp - manifest.streamStart) / MINUTE);
    if (minute < 0 || minute >= minutes) return;
    const topic = post.topics[0];
    if (topic === undefined) return;
    const offsetMs = minute * MINUTE + Math.floor(random() * 60) * 1000;
    const id = (firstId + BigInt(index)).toString();
    const image = options.imageShare !== undefined && imageRandom() < options.imageShare;
    // The emotion tags would make the post findable under a second watched tag: left out, one topic per post.
    const leadingTags = post.tags.filter((tag) => tag !== topic && !EMOTION_TAGS.has(tag));
    const raw = buildPost({
      id: BigInt(id),
      timestamp: 0,
      watched: [topic],
      format: image ? 'legacy-photo' : 'legacy-text',
      text: `<p>${escapeHtml(post.text)}</p>`,
      leadingTags,
      random,
    });
    if (image && options.imageUrl !== undefined) {
      const url = options.imageUrl(id);
      raw['photos'] = [{ caption: '', alt_sizes: [{ url, width: 640, height: 480 }], original_size: { url, width: 640, height: 480 } }];
    }
    posts.push({ id, topic, offsetMs, raw, image });
  });
  posts.sort((a, b) => a.offsetMs - b.offsetMs || a.id.localeCompare(b.id));
  return { seed: options.seed, durationMs: minutes * MINUTE, topics: [...manifest.topics], posts, plantedShift: manifest.plantedShift };
}

/** The post as the stand-in serves it once the stream is placed at `baseMs` (a whole minute): its timestamp set. */
export function stamped(post: StreamPost, baseMs: number): RawTumblrPost {
  const seconds = Math.floor((baseMs + post.offsetMs) / 1000);
  return { ...post.raw, timestamp: seconds, date: new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' GMT') };
}

/** Ground truth: distinct posts per topic and 1-minute bucket start (epoch ms), for the stream placed at `baseMs`. */
export function expectedCounts(stream: SeededStream, baseMs: number): Map<string, Map<number, number>> {
  const byTopic = new Map<string, Map<number, number>>();
  for (const post of stream.posts) {
    const start = baseMs + Math.floor(post.offsetMs / MINUTE) * MINUTE;
    const buckets = byTopic.get(post.topic) ?? new Map<number, number>();
    buckets.set(start, (buckets.get(start) ?? 0) + 1);
    byTopic.set(post.topic, buckets);
  }
  return byTopic;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
