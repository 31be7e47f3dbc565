import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ConfigError, parseConfig, splitList } from '../src/index';

const Schema = z.object({
  PORT: z.coerce.number().int().min(1).max(65_535),
  KAFKA_BROKERS: z.string().min(1).transform(splitList),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn']).default('info'),
});

test('parseConfig returns typed values with defaults', () => {
  const config = parseConfig(Schema, { PORT: '8080', KAFKA_BROKERS: 'a:9092, b:9092' });
  assert.deepEqual(config, { PORT: 8080, KAFKA_BROKERS: ['a:9092', 'b:9092'], LOG_LEVEL: 'info' });
});

test('parseConfig names every bad variable in one readable message', () => {
  assert.throws(
    () => parseConfig(Schema, { PORT: 'eighty', LOG_LEVEL: 'loud' }, 'ingester'),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.code, 'CONFIG_INVALID');
      assert.equal(error.retriable, false);
      assert.equal(
        error.message,
        [
          'ingester: invalid configuration',
          '  - PORT: Expected number, received nan',
          '  - KAFKA_BROKERS: Required',
          "  - LOG_LEVEL: Invalid enum value. Expected 'debug' | 'info' | 'warn', received 'loud'",
        ].join('\n'),
      );
      return true;
    },
  );
});

test('splitList trims and drops empties', () => {
  assert.deepEqual(splitList(' a, ,b ,,c '), ['a', 'b', 'c']);
  assert.deepEqual(splitList(''), []);
  assert.deepEqual(splitList(undefined), []);
});
