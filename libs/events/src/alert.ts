import { z } from 'zod';
import { EmotionSchema } from './emotions';
import { WindowSizeSchema } from './windows';

export const AlertSchema = z
  .object({
    id: z.string().min(1).max(200),
    /** A watched topic, or "all". */
    topic: z.string().min(1).max(140),
    emotion: EmotionSchema,
    window: z
      .object({
        size: WindowSizeSchema,
        start: z.number().int().nonnegative(),
        end: z.number().int().nonnegative(),
      })
      .strict()
      .refine((w) => w.end > w.start, { message: 'window end must be after its start' }),
    /** Share of the emotion in the window that fired. */
    observed: z.number().min(0).max(1),
    /** Baseline share (EWMA of the preceding windows). */
    expected: z.number().min(0).max(1),
    count: z.number().int().nonnegative(),
    /** One-sided z statistic of observed vs expected. */
    statistic: z.number(),
    pValue: z.number().min(0).max(1),
    /** Per-test significance level after correcting for the number of pairs watched. */
    threshold: z.number().min(0).max(1),
    examplePostIds: z.array(z.string()).max(20),
    firedAt: z.number().int().nonnegative(),
    /** Set when the alert came from an isolated replay rather than live data. */
    replayId: z.string().nullable().default(null),
    acknowledged: z.boolean().default(false),
  })
  .strict();

export type Alert = z.infer<typeof AlertSchema>;
export type AlertInput = z.input<typeof AlertSchema>;
