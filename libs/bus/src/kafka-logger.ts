import { logLevel, type logCreator } from 'kafkajs';
import type { Logger } from '@moodstream/core';

/**
 * kafkajs logs routine events (a group rebalancing, an idempotent producer with bounded retries)
 * at warn/error. They are expected here and would drown real problems, so they go to debug/info.
 */
const ROUTINE: { pattern: RegExp; level: 'debug' | 'info' }[] = [
  { pattern: /Limiting retries for the idempotent producer/i, level: 'debug' },
  { pattern: /group is rebalancing/i, level: 'info' },
  { pattern: /re-joining|rejoin/i, level: 'info' },
  // Every error response is logged by the connection layer, retried ones too; real failures still
  // surface as exceptions from the call that gave up.
  { pattern: /^Response \w+\(key: \d+, version: \d+\)$/, level: 'debug' },
];

/** A broker that does not answer: kafkajs logs every attempt of every retry loop (several lines a second). */
const CONNECTION_FAILURE = /^(Connection error|Connection timeout|Failed to connect to seed broker)/i;
/** One line when an outage starts, then one summary line per this much time while it lasts. */
export const CONNECTION_SUMMARY_MS = 60_000;

export interface KafkaLogOptions {
  /** The clock the connection-failure summaries follow (virtual time in tests). */
  now?: () => number;
}

/**
 * Routes kafkajs's own log lines into our pino logger (kafkajs itself is set to warn). Connection failures are said
 * once per outage and then summarised once a minute (attempts counted), not once per retry; the other attempts go
 * to debug. An outage is over, for this count, once no failure was logged for a minute.
 */
export function kafkaLogCreator(logger: Logger, options: KafkaLogOptions = {}): logCreator {
  const now = options.now ?? Date.now;
  const child = logger.child({ component: 'kafkajs' });
  let outage: { since: number; lastSaid: number; lastSeen: number; hidden: number } | null = null;
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log as { message: string; [key: string]: unknown };
      if (CONNECTION_FAILURE.test(message)) {
        const at = now();
        if (outage === null || at - outage.lastSeen >= CONNECTION_SUMMARY_MS) {
          outage = { since: at, lastSaid: at, lastSeen: at, hidden: 0 };
          child.error({ namespace, ...fields }, `${message} (further connection failures are summarised once a minute while they last)`);
          return;
        }
        outage.lastSeen = at;
        if (at - outage.lastSaid >= CONNECTION_SUMMARY_MS) {
          child.error({ namespace, ...fields, attempts: outage.hidden + 1 }, `still no connection to Kafka after ${Math.round((at - outage.since) / 1000)} s (${outage.hidden + 1} failed attempts in the last minute): ${message}`);
          outage.lastSaid = at;
          outage.hidden = 0;
          return;
        }
        outage.hidden += 1;
        child.debug({ namespace, ...fields }, message);
        return;
      }
      const routine = ROUTINE.find((r) => r.pattern.test(message));
      const target = routine?.level ?? (level === logLevel.ERROR || level === logLevel.NOTHING ? 'error' : level === logLevel.WARN ? 'warn' : 'debug');
      child[target]({ namespace, ...fields }, message);
    };
}
