import { z } from 'zod';
import { ConfigError } from './errors';

/**
 * Parses an environment (or any string map) against an app's zod schema at boot.
 * Fails with one readable message naming every bad variable, so a person can fix them all at once.
 */
export function parseConfig<S extends z.ZodTypeAny>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
  appName = 'moodstream',
): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(root)';
    return `  - ${key}: ${issue.message}`;
  });
  throw new ConfigError(`${appName}: invalid configuration\n${lines.join('\n')}`);
}

/** Turns "a, b ,c" into ["a","b","c"]; empty input gives an empty list. */
export function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

const brokerList = (text: z.ZodString | z.ZodDefault<z.ZodString>) =>
  text.transform((value) => splitList(value)).refine((list) => list.length > 0, { message: 'needs at least one host:port' });

/** Where the bus is, read the same way by every Kafka-connected process; spread into an app's schema. */
export const kafkaEnv = {
  KAFKA_BROKERS: brokerList(z.string().default('127.0.0.1:9092')),
  MOODSTREAM_TOPIC_PREFIX: z.string().default(''),
};

/**
 * The distributed mode's connections, required without a default (`npm start` runs without them), with a hint that
 * says so when missing.
 */
export const distributedEnv = {
  ...kafkaEnv,
  KAFKA_BROKERS: brokerList(z.string({ required_error: 'required in the distributed mode (e.g. 127.0.0.1:9092); `npm start` runs without it' })),
  REDIS_URL: z.string({ required_error: 'required in the distributed mode (e.g. redis://127.0.0.1:6379); `npm start` runs without it' }).url(),
};

export const logLevelEnv = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};
