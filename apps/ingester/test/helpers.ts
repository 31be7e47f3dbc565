import { Writable } from 'node:stream';
import { parseConfig, createLogger, type Logger } from '@moodstream/core';
import { IngesterConfigSchema, type IngesterConfig } from '../src/config';

/** A config for tests: generous budgets, fast backoff, the stand-in's URL and key. */
export function testConfig(overrides: Record<string, string> = {}): IngesterConfig {
  return parseConfig(IngesterConfigSchema, {
    TUMBLR_API_KEY: 'standin-key',
    INGEST_STORE: 'memory',
    INGEST_BUDGET_PER_MINUTE: '100000',
    INGEST_BUDGET_PER_HOUR: '100000',
    INGEST_BUDGET_PER_DAY: '100000',
    INGEST_BACKOFF_INITIAL_MS: '20',
    INGEST_BACKOFF_MAX_MS: '200',
    INGEST_LIVE_LOOKBACK_MS: String(10 * 365 * 86_400_000),
    INGEST_POLL_INTERVAL_MS: '100',
    ...overrides,
  });
}

/** A logger whose output is kept in memory, to assert on what was (and was not) logged. */
export function capturedLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      callback();
    },
  });
  return { logger: createLogger('ingester-test', { level: 'debug', destination }), lines };
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Tumblr answers scripted per call, with nothing on the network; every timer of the app runs on a virtual clock. */
export function scriptedTumblr(answer: (call: number, url: URL) => Response): { fetch: typeof globalThis.fetch; calls: () => number; urls: URL[] } {
  let calls = 0;
  const urls: URL[] = [];
  const fetch: typeof globalThis.fetch = (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    urls.push(url);
    return Promise.resolve(answer(++calls, url));
  };
  return { fetch, calls: () => calls, urls };
}

export const emptyPage = (headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify({ meta: { status: 200, msg: 'OK' }, response: [] }), { status: 200, headers });
