import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { MoodstreamError } from '../errors';

/** Why a write action was refused: the label of a `refused_total{reason}` metric. */
export type AccessRefusal = 'unauthorized' | 'not_loopback' | 'cross_site';

export class AccessRefusedError extends MoodstreamError {
  constructor(
    readonly reason: AccessRefusal,
    code: 'UNAUTHORIZED' | 'FORBIDDEN',
    message: string,
  ) {
    super(code, message);
  }
}

export interface OperatorAccessOptions {
  /** The operator credential; undefined or empty: write actions only from loopback. */
  token?: string | undefined;
  /** Names the setting in refusal messages (default DASHBOARD_OPERATOR_TOKEN). */
  setting?: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 (what a dual-stack socket reports). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4 === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function hostName(host: string | undefined): string {
  if (host === undefined) return '';
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
  return name.toLowerCase();
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** Equal-length digests compared in constant time: neither the content nor the length of the token leaks. */
export function tokensEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * A browser sends `Sec-Fetch-Site` and `Origin` with every POST; a request another site makes it send (a form, a
 * fetch) says so there. Clients that are not browsers (curl) send neither and are not a CSRF risk.
 */
function crossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host.toLowerCase() !== String(req.headers.host ?? '').toLowerCase();
  } catch {
    return true;
  }
}

/**
 * Who may act (acknowledge alerts, start and steer replays). Reading stays open; a write action must
 * 1. come from this site's own page when it comes from a browser (Fetch Metadata / Origin checks), else 403;
 * 2. with a configured token, carry `Authorization: Bearer <token>` (constant-time compare), else 401;
 *    without one, come from a loopback address to a loopback host name (no DNS rebinding), else 403.
 * Throws an `AccessRefusedError` (its `reason` for the metric); returns when the request may go on.
 */
export function createOperatorAccess(options: OperatorAccessOptions): { check(req: IncomingMessage, peer?: string): void; readonly tokenRequired: boolean } {
  const token = options.token === undefined || options.token === '' ? null : options.token;
  const setting = options.setting ?? 'DASHBOARD_OPERATOR_TOKEN';
  return {
    tokenRequired: token !== null,
    check(req, peer = req.socket.remoteAddress) {
      if (crossSite(req)) throw new AccessRefusedError('cross_site', 'FORBIDDEN', 'write actions are only accepted from the dashboard\'s own page, not from another site');
      if (token !== null) {
        const header = req.headers.authorization ?? '';
        const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (match === null || !tokensEqual(match[1] ?? '', token)) {
          throw new AccessRefusedError('unauthorized', 'UNAUTHORIZED', `this action needs the operator token: send "Authorization: Bearer <token>" (the value of ${setting} on the server); the dashboard asks for it`);
        }
        return;
      }
      if (!isLoopbackAddress(peer) || !LOOPBACK_HOSTS.has(hostName(req.headers.host))) {
        throw new AccessRefusedError('not_loopback', 'FORBIDDEN', `write actions are allowed only from this machine (loopback) while no operator token is configured: set ${setting} on the server and send it as "Authorization: Bearer <token>"`);
      }
    },
  };
}
