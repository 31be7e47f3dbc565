import { z } from 'zod';
import { EmotionSchema } from './emotions';
import { WindowSizeSchema } from './windows';

/**
 * A word shift (after the Hedonometer's word-shift graphs, in the generalised form of Gallagher et al. 2021):
 * which terms moved an emotion's share between a window W and its baseline B, and by how much.
 *
 * Every post spreads a weight of 1 evenly over its distinct terms (words, emoji, co-occurring tags), so a term's
 * weight p_w is its share of the posts and its association φ_w is the mean probability of the emotion over the
 * weight it carries; the emotion's share is then Φ = Σ_w p_w φ_w exactly. Per term
 *   contribution_w = (p_w^W − p_w^B)(φ̄_w − Φ^B)  [frequencyPart]  +  p̄_w (φ_w^W − φ_w^B)  [associationPart]
 * with p̄, φ̄ the means of the two sides (φ on a side where the term is absent := the other side's). Summed over all
 * terms (the listed ones and `rest`) it is Φ^W − Φ^B: see docs/word-shift.md. Shares are fractions (0.12 = 12%).
 */
export const WordShiftTermKindSchema = z.enum(['word', 'emoji', 'tag']);
export type WordShiftTermKind = z.infer<typeof WordShiftTermKindSchema>;

export const WordShiftTermSchema = z
  .object({
    /** User text: render as text, never HTML. Tags carry their '#'. */
    term: z.string().min(1).max(64),
    kind: WordShiftTermKindSchema,
    /** Signed change of the emotion's share this term explains (frequencyPart + associationPart). */
    contribution: z.number(),
    /** (p^W − p^B)(φ̄ − Φ^B): used more (p^W > p^B) or less, by posts more (φ̄ > Φ^B) or less associated with the emotion. */
    frequencyPart: z.number(),
    /** p̄ (φ^W − φ^B): posts with this term carry more (or less) of the emotion than they did in the baseline. */
    associationPart: z.number(),
    /** Term weights p (share of the posts' weight) in the window and the baseline. */
    windowWeight: z.number().min(0).max(1),
    baselineWeight: z.number().min(0).max(1),
    /** Association φ (mean emotion probability behind the term) per side; null where the term is absent. */
    windowAssociation: z.number().min(0).max(1).nullable(),
    baselineAssociation: z.number().min(0).max(1).nullable(),
  })
  .strict();
export type WordShiftTerm = z.infer<typeof WordShiftTermSchema>;

export const WordShiftSchema = z
  .object({
    topic: z.string().min(1).max(140),
    emotion: EmotionSchema,
    window: z.object({ size: WindowSizeSchema, start: z.number().int().nonnegative(), end: z.number().int().nonnegative() }).strict(),
    /** The baseline: the `windows` windows of the same size just before the window, pooled. */
    baseline: z.object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative(), windows: z.number().int().nonnegative() }).strict(),
    windowPosts: z.number().int().nonnegative(),
    baselinePosts: z.number().int().nonnegative(),
    /** Φ^W and Φ^B: mean probability of the emotion over the posts of each side. */
    windowShare: z.number().min(0).max(1),
    baselineShare: z.number().min(0).max(1),
    /** Φ^W − Φ^B = Σ terms' contributions + rest (within rounding). */
    difference: z.number(),
    /** The largest contributions by magnitude, largest first. */
    terms: z.array(WordShiftTermSchema).max(100),
    /** Everything not listed: the smaller terms and the terms a full table folded together. */
    rest: z.number(),
    /** False when a bucket held more distinct terms than it keeps, so some terms were folded into `rest`. */
    complete: z.boolean(),
  })
  .strict();
export type WordShift = z.infer<typeof WordShiftSchema>;
