import { z } from 'zod';
import { EmotionSchema } from './emotions';

const epochMs = z.number().int().nonnegative();
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), { message: 'must be an http(s) URL' });

/** A topic is a normalised tag: lower-case, no '#', inner whitespace folded to single spaces. */
export const TopicSchema = z
  .string()
  .min(1)
  .max(140)
  .refine((t) => t === normaliseTag(t), { message: 'must be a normalised tag (lower-case, no #, trimmed)' });

export function normaliseTag(tag: string): string {
  // Trim before stripping '#': users type " #tag" as often as "#tag".
  return tag.normalize('NFKC').trim().replace(/^#+/, '').trim().replace(/\s+/g, ' ').toLowerCase();
}

export const PostSourceSchema = z.enum(['live', 'backfill', 'archive']);

export const PostSchema = z
  .object({
    /** Tumblr's string post id; the Kafka key. */
    id: z.string().min(1).max(64),
    blog: z.string().min(1).max(256),
    url: httpUrl,
    /** When the post was published, epoch ms. Also the Kafka record timestamp. */
    timestamp: epochMs,
    /** The watched topics this post was found under (at least one). */
    topics: z.array(TopicSchema).min(1).max(64),
    /** All the post's own tags, normalised, in the user's order. */
    tags: z.array(z.string().max(140)).max(256).default([]),
    /** Plain text: HTML stripped, entities decoded, the six emotion hashtags removed. */
    text: z.string().max(20_000),
    imageUrl: httpUrl.nullable(),
    noteCount: z.number().int().nonnegative().nullable().default(null),
    source: PostSourceSchema,
    /** The first of the six emotion tags in the user's order, or null. */
    label: EmotionSchema.nullable(),
    ingestedAt: epochMs,
  })
  .strict();

export type Post = z.infer<typeof PostSchema>;
export type PostInput = z.input<typeof PostSchema>;

/**
 * How far ahead of the clock a post may be dated: ordinary skew between Tumblr's clock and ours. Beyond it the date
 * is a lie, and a lie that costs others: event time drives the aggregator's watermark, so one post dated next month
 * would close every window up to then and drop every real post after it as late. The ingester skips such posts and
 * the aggregator dead-letters any that reach the scored topic another way.
 */
export const MAX_FUTURE_SKEW_MS = 3_600_000;
