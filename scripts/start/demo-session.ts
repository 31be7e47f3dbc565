import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The demo's clock across restarts of the distributed mode, where Kafka and Redis keep what the last run produced.
 * A restart within `maxAgeMs` of the session's start resumes it: the same start time, so every post keeps its
 * timestamp and id and the aggregator's dedupe drops what was already counted (re-stamping the history at new times
 * counted it again: a fake surge). A restart after that, or against other services or settings, starts a new
 * session whose post ids are new, so nothing of the old one is counted twice either.
 * (The embedded mode keeps everything in memory: each start is a new, empty world and needs none of this.)
 */
export interface DemoSession {
  /** 0, 1, 2, …: post ids are offset by it. */
  session: number;
  startAt: number;
  resumed: boolean;
}

interface Saved {
  key: string;
  session: number;
  startAt: number;
}

/** Two hours: beyond that a resumed demo would spend its start catching up on laps nobody watched. */
export const DEMO_SESSION_MAX_AGE_MS = 2 * 3_600_000;

/** Ids of session n are offset by n × this (the demo's ids are 12 digits; laps add multiples of 10^11). */
export const SESSION_ID_STRIDE = 10n ** 15n;

/** What must match for a run to resume a session: the services, prefixes, stream and its timing. */
export function demoSessionKey(parts: Record<string, string | number | undefined>): string {
  return createHash('sha256').update(JSON.stringify(Object.entries(parts).sort(([a], [b]) => a.localeCompare(b)))).digest('hex').slice(0, 16);
}

function read(file: string): Saved | null {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Partial<Saved>;
    if (typeof saved.key === 'string' && Number.isInteger(saved.session) && Number.isFinite(saved.startAt)) return saved as Saved;
  } catch {
    // No file yet, or unreadable: a new session.
  }
  return null;
}

export function demoSession(file: string, key: string, now: number, maxAgeMs = DEMO_SESSION_MAX_AGE_MS): DemoSession {
  const saved = read(file);
  if (saved !== null && saved.key === key && now - saved.startAt >= 0 && now - saved.startAt < maxAgeMs) {
    return { session: saved.session, startAt: saved.startAt, resumed: true };
  }
  const session = saved === null ? 0 : saved.session + 1;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ key, session, startAt: now } satisfies Saved)}\n`);
  return { session, startAt: now, resumed: false };
}

export function sessionId(id: string, session: number): string {
  if (session === 0) return id;
  return /^\d+$/.test(id) ? String(BigInt(id) + BigInt(session) * SESSION_ID_STRIDE) : `${id}-s${session}`;
}
