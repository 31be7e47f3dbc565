import { z } from 'zod';
import { EmotionSchema } from './emotions';
import { TopicSchema } from './post';

/**
 * A topic's own alert rule, set by an operator at run time. Every field left out of a rule falls back to the global
 * settings (TRENDS_ALERT_*), so a topic without a rule alerts exactly as before.
 */
export const AlertRuleSettingsSchema = z
  .object({
    /** Off: the topic never alerts (its baseline still learns, so turning it back on needs no warm-up). */
    enabled: z.boolean(),
    /** Emotions that may alert; the others are still tested (they stay in the Bonferroni family) but never fire. */
    emotions: z.array(EmotionSchema).min(1).max(6),
    /** Family-wise significance level (sensitivity): smaller alerts less. */
    level: z.number().gt(0).lt(1),
    /** Windows with fewer posts are not tested. */
    minCount: z.number().int().min(1).max(1_000_000),
    /** Consecutive significant windows before it fires (persistence). */
    forWindows: z.number().int().min(1).max(100),
    /** No alert before this time, epoch ms; null: not muted. */
    mutedUntil: z.number().int().nonnegative().nullable(),
  })
  .strict();
export type AlertRuleSettings = z.infer<typeof AlertRuleSettingsSchema>;

export const AlertRuleSchema = AlertRuleSettingsSchema.extend({
  topic: TopicSchema,
  updatedAt: z.number().int().nonnegative(),
  updatedBy: z.string().max(200),
});
export type AlertRule = z.infer<typeof AlertRuleSchema>;

/** A change to a topic's rule: fields given replace the current ones (or the defaults); `muteForMs` mutes from now. */
export const AlertRulePatchSchema = AlertRuleSettingsSchema.partial()
  .extend({ muteForMs: z.number().int().min(0).max(30 * 86_400_000).optional() })
  .strict();
export type AlertRulePatch = z.infer<typeof AlertRulePatchSchema>;

/** One audited change: who, when, the rule before and after (null: no rule, i.e. the defaults). */
export const AlertRuleAuditSchema = z.object({
  at: z.number().int().nonnegative(),
  who: z.string().max(200),
  topic: TopicSchema,
  before: AlertRuleSchema.nullable(),
  after: AlertRuleSchema.nullable(),
});
export type AlertRuleAudit = z.infer<typeof AlertRuleAuditSchema>;

export const AlertRulesResponseSchema = z.object({
  rules: z.array(AlertRuleSchema),
  /** The global settings a topic without a rule (or a field left out) uses. */
  defaults: AlertRuleSettingsSchema,
});
export const AlertRuleAuditResponseSchema = z.object({ audit: z.array(AlertRuleAuditSchema) });
