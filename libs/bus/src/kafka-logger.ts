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

/** Routes kafkajs's own log lines into our pino logger (kafkajs itself is set to warn). */
export function kafkaLogCreator(logger: Logger): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log as { message: string; [key: string]: unknown };
      const routine = ROUTINE.find((r) => r.pattern.test(message));
      const target = routine?.level ?? (level === logLevel.ERROR || level === logLevel.NOTHING ? 'error' : level === logLevel.WARN ? 'warn' : 'debug');
      child[target]({ namespace, ...fields }, message);
    };
}
