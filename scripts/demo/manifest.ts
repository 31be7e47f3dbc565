import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { EmotionSchema, TopicSchema } from '@moodstream/events';
import { ConfigError } from '@moodstream/core';
import { describeZodError } from '@moodstream/events';

/**
 * Describes the committed demo stream: where its planted mood shift sits, so the launcher can
 * place "now" just after the shift begins and a newcomer sees the alert fire within minutes.
 */
export const DemoManifestSchema = z
  .object({
    file: z.string().min(1),
    posts: z.number().int().positive(),
    seed: z.number().int(),
    /** Stream time of the first minute, epoch ms (a fixed, fictional date). */
    streamStart: z.number().int().nonnegative(),
    durationMinutes: z.number().int().positive(),
    topics: z.array(TopicSchema).min(1),
    postsPerTopicPerMinute: z.number().positive(),
    plantedShift: z
      .object({
        topic: TopicSchema,
        emotion: EmotionSchema,
        startMinute: z.number().int().nonnegative(),
        endMinute: z.number().int().positive(),
        /** Share of the topic's posts drawn from that emotion's texts during the shift. */
        share: z.number().min(0).max(1),
        /** Multiplier on the topic's volume during the shift. */
        volume: z.number().positive(),
      })
      .strict(),
    markupPosts: z.array(z.string()),
    source: z
      .object({
        name: z.string(),
        licence: z.string(),
        file: z.string(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      })
      .strict(),
  })
  .strict();

export type DemoManifest = z.infer<typeof DemoManifestSchema>;

export async function loadDemoManifest(path: string): Promise<DemoManifest> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read the demo stream manifest ${path}: ${(error as Error).message} (rebuild it with \`npm run demo:build\`)`);
  }
  const parsed = DemoManifestSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(`invalid demo manifest ${path}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}
