import { z } from 'zod';

/**
 * A moment an operator marks during an event ("kick-off", "speech starts"): a label at a time. Moments are kept by
 * time with the live data, so every chart covering that time — live, compared or replayed — draws them.
 */
export const MomentSchema = z.object({
  id: z.string().min(1).max(64),
  /** User text: render as text, never HTML. */
  label: z.string().min(1).max(80),
  /** When it happened, epoch ms. */
  at: z.number().int().nonnegative(),
  createdAt: z.number().int().nonnegative(),
  createdBy: z.string().max(200),
});
export type Moment = z.infer<typeof MomentSchema>;

export const AddMomentRequestSchema = z
  .object({
    label: z
      .string()
      .transform((s) => s.trim().replace(/\s+/g, ' '))
      .pipe(z.string().min(1, 'a moment needs a label').max(80)),
    /** Default: now. */
    at: z.number().int().nonnegative().optional(),
  })
  .strict();
export type AddMomentRequest = z.infer<typeof AddMomentRequestSchema>;

export const MomentsQuerySchema = z
  .object({
    from: z.coerce.number().int().nonnegative().optional(),
    to: z.coerce.number().int().nonnegative().optional(),
  })
  .strict();

export const MomentsResponseSchema = z.object({ moments: z.array(MomentSchema) });

/** Pushed live (socket.io event `moment`) to every viewer when a moment is added or removed. */
export const MomentUpdateSchema = z.object({ action: z.enum(['added', 'removed']), moment: MomentSchema });
export type MomentUpdate = z.infer<typeof MomentUpdateSchema>;
