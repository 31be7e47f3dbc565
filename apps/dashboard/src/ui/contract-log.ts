/**
 * Answers and pushes this page refused because they did not match the contract in @moodstream/events. Such a mismatch
 * means the server and the page disagree (a half-finished deploy, a bug), which the error state on screen only hints
 * at, so the details are kept here rather than on the console (tests treat console errors as failures, and users
 * never look there): the newest entries, readable from devtools as `window.moodstreamRejections`.
 */

export interface Rejection {
  /** Epoch ms when it was refused. */
  at: number;
  /** Where it came from: "GET /api/series?…" or "socket.io series". */
  source: string;
  /** What was wrong with it, as zod described it. */
  problem: string;
}

/** Enough to see a pattern; a flood of bad pushes must not grow the page's memory without bound. */
export const MAX_REJECTIONS = 50;

declare global {
  interface Window {
    moodstreamRejections?: readonly Rejection[];
  }
}

const entries: Rejection[] = [];

export function recordRejection(source: string, problem: string, at = Date.now()): void {
  entries.push({ at, source, problem });
  if (entries.length > MAX_REJECTIONS) entries.splice(0, entries.length - MAX_REJECTIONS);
  if (typeof window !== 'undefined') window.moodstreamRejections = entries;
}

/** Oldest first. */
export function rejections(): readonly Rejection[] {
  return entries.slice();
}
