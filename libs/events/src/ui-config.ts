import { z } from 'zod';

/**
 * Settings the dashboard server decides at run time and the browser fetches (the page itself is built ahead of time).
 */
export const UI_CONFIG_PATH = '/ui-config.json';

export const UiConfigSchema = z.object({
  /** Images whose explicit score is at or above this wait behind a click. */
  explicitThreshold: z.number().min(0).max(1),
});
export type UiConfig = z.infer<typeof UiConfigSchema>;
