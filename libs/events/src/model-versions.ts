import { z } from 'zod';

/**
 * The model that scored a topic's posts changed: the first post scored by `version` that the aggregator saw for the
 * topic. Charts draw it as a labelled vertical line, so a step in the shares can be told apart from a new model.
 */
export const ModelVersionChangeSchema = z.object({
  /** A topic, or `all`. */
  topic: z.string().min(1).max(140),
  /** The new version (a ScoredPost's `modelVersion`). */
  version: z.string().min(1).max(64),
  /** The version seen for the topic before it; null for the first version ever seen (no change to mark). */
  previous: z.string().min(1).max(64).nullable(),
  /** Event time (the post's timestamp) of the first post scored by `version` in the batch it was first seen in, epoch ms. */
  at: z.number().int().nonnegative(),
});
export type ModelVersionChange = z.infer<typeof ModelVersionChangeSchema>;

export const ModelVersionsQuerySchema = z
  .object({
    topic: z.string().min(1).max(140),
    from: z.coerce.number().int().nonnegative().optional(),
    to: z.coerce.number().int().nonnegative().optional(),
  })
  .strict();
export type ModelVersionsQuery = z.infer<typeof ModelVersionsQuerySchema>;

export const ModelVersionsResponseSchema = z.object({ changes: z.array(ModelVersionChangeSchema) });
export type ModelVersionsResponse = z.infer<typeof ModelVersionsResponseSchema>;
