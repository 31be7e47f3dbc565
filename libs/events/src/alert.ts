import { z } from 'zod';
import { EmotionSchema } from './emotions';
import { WindowSizeSchema } from './windows';
import { WordShiftSchema } from './word-shift';

const nonNegative = z.number().nonnegative();

/**
 * Why an alert fired and how sure it is. Optional: alerts stored before it existed have none, and still parse.
 * Shares are fractions (0.12 = 12%).
 */
export const AlertExplanationSchema = z
  .object({
    /** observed − expected and its 95% interval (± 1.96 × the test's standard deviation). */
    effect: z.object({ difference: z.number(), lo: z.number(), hi: z.number(), /** observed / expected; null when expected is 0. */ ratio: nonNegative.nullable() }).strict(),
    baseline: z
      .object({
        /** The plain EWMA baseline share, and how many windows it has folded in. */
        share: z.number().min(0).max(1),
        windows: z.number().int().nonnegative(),
        /** "ewma" — expected is the plain baseline; "hour-of-day" — expected is the hour-of-day forecast. */
        method: z.enum(['ewma', 'hour-of-day']),
        /** UTC hour of the window and, with "hour-of-day", that hour's learnt index (expected − level). */
        hourOfDay: z.number().int().min(0).max(23),
        seasonalIndex: z.number().nullable(),
      })
      .strict(),
    /** Standard deviations (share units) in the test: sampling, baseline, real between-window movement, total. */
    dispersion: z.object({ samplingSd: nonNegative, baselineSd: nonNegative, betweenSd: nonNegative, totalSd: nonNegative }).strict(),
    /**
     * Present when the window was decided again after its first decision: `late-posts` — posts that arrived after
     * the window was first decided (within the allowed lateness) made it significant, tested against the expected
     * share and dispersion the detector had then; `rebuild` — `npm run trends:rebuild` re-decided the window over
     * the rebuilt history. `firstCount` is how many posts the first decision saw (null when not known).
     */
    decidedLate: z
      .object({ reason: z.enum(['late-posts', 'rebuild']), firstDecidedAt: z.number().int().nonnegative().nullable(), firstCount: z.number().int().nonnegative().nullable() })
      .strict()
      .optional(),
  })
  .strict();

export type AlertExplanation = z.infer<typeof AlertExplanationSchema>;

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
    /** Expected share: the EWMA baseline of the preceding windows, or its hour-of-day forecast (see explanation). */
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
    /** True when the alert was decided after its window's first decision (see explanation.decidedLate); absent: on time. */
    late: z.boolean().optional(),
    explanation: AlertExplanationSchema.optional(),
    /** Which words, emoji and tags moved the share (window vs the windows before it); alerts stored before it have none. */
    wordShift: WordShiftSchema.optional(),
  })
  .strict();

export type Alert = z.infer<typeof AlertSchema>;
export type AlertInput = z.input<typeof AlertSchema>;
