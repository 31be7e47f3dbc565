import type { Alert } from '@moodstream/events';
import { DEFAULT_VIEW, type LiveViewState } from './url-state';
import { LIVE_WINDOWS, RANGES, RANGE_MS, allowedWindows, type LiveWindow, type RangeName } from './windows';

/** Newest first, one entry per id (an acknowledged alert replaces its earlier copy), at most `cap`. */
export function mergeAlert(alerts: readonly Alert[], alert: Alert, cap = 200): Alert[] {
  const rest = alerts.filter((a) => a.id !== alert.id);
  rest.push(alert);
  rest.sort((a, b) => b.firedAt - a.firedAt || b.window.start - a.window.start);
  return rest.slice(0, cap);
}

export function mergeAlerts(alerts: readonly Alert[], incoming: readonly Alert[], cap = 200): Alert[] {
  return incoming.reduce<Alert[]>((acc, a) => mergeAlert(acc, a, cap), alerts.slice());
}

/**
 * The live view that shows an alert's moment: its topic, its window (or the nearest the range allows), the smallest
 * range reaching back to it, and the bucket highlighted. `posts` opens the drill-down on that bucket and emotion.
 */
export function viewForAlert(alert: Alert, now: number, posts: boolean): LiveViewState {
  const age = now - alert.window.start;
  const range: RangeName = RANGES.find((r) => RANGE_MS[r] > age) ?? '7d';
  const size = alert.window.size;
  const allowed = allowedWindows(range);
  const wanted: LiveWindow | undefined = (LIVE_WINDOWS as readonly string[]).includes(size) ? (size as LiveWindow) : undefined;
  const window = wanted !== undefined && allowed.includes(wanted) ? wanted : (allowed[allowed.length - 1] ?? '1h');
  return {
    ...DEFAULT_VIEW,
    topic: alert.topic,
    window,
    range,
    at: alert.window.start,
    posts,
    emotion: posts ? alert.emotion : null,
  };
}

/** How far above its baseline the share rose, as a readable multiple or difference. */
export function describeRise(alert: Alert): string {
  const points = (alert.observed - alert.expected) * 100;
  if (alert.expected > 0) return `${(alert.observed / alert.expected).toFixed(1)}× baseline (+${points.toFixed(1)} pts)`;
  return `+${points.toFixed(1)} pts`;
}
