import { randomBytes } from 'node:crypto';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Who may act on the demo's dashboard (acknowledge alerts, start and steer replays), said once on the terminal.
 * A configured DASHBOARD_OPERATOR_TOKEN is used as is (never printed). Without one, a dashboard on loopback lets this
 * machine act; one exposed on another address gets a fresh token, printed once here (never logged), which the page
 * asks for — otherwise nobody could act from elsewhere and strangers could not be told apart.
 */
export function demoOperatorAccess(host: string, env: Record<string, string | undefined>): { env: Record<string, string>; line: string } {
  if ((env['DASHBOARD_OPERATOR_TOKEN'] ?? '') !== '') {
    return { env: {}, line: 'write actions (acknowledge, replays) need the operator token set in DASHBOARD_OPERATOR_TOKEN' };
  }
  if (LOOPBACK_HOSTS.has(host)) {
    return { env: {}, line: 'write actions (acknowledge, replays): from this machine only; set DASHBOARD_OPERATOR_TOKEN to act from elsewhere' };
  }
  const token = randomBytes(24).toString('hex');
  return { env: { DASHBOARD_OPERATOR_TOKEN: token }, line: `operator token for write actions (the page asks for it; valid until this stack stops): ${token}` };
}
