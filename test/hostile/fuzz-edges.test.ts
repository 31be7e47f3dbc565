/**
 * Property-based fuzzing (fast-check) of the parsers at our other edges: the HTTP router's path handling, API query
 * strings, replay request bodies and the Kafka record codec. For every generated input: only the expected typed
 * errors (a MoodstreamError whose code is a 4xx, or a decode reason), never an exception of another kind or a 500,
 * and no more than 100 ms of CPU for the input. Budget and replay: test/hostile/support/fuzz.ts.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeEvent, MAX_DECODE_REASON_CHARS } from '@moodstream/bus';
import { createRouter, ERROR_CODES, MoodstreamError, parseInput, queryObject, readJsonBody } from '@moodstream/core';
import { AlertsQuerySchema, EVENT_TYPES, ExamplePostsQuerySchema, ReplayRequestSchema, SeriesQuerySchema, type EventTypeName } from '@moodstream/events';
import { cpuMsAsync } from './support/cpu-time';
import { FUZZ_INPUT_LIMIT_MS, fuzzParams, withinLimit } from './support/fuzz';

/** Percent escapes, good and broken, among path and query characters. */
const urlPiece = fc.oneof(
  fc.constantFrom('%', '%2', '%zz', '%00', '%2F', '%2e%2e', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%F4%90%80%80', '%FF', '%25', '%20', '+', '&', '=', '?', '#', '/', '..', ';', '\\', '@', ':', '~', '*', '[', ']', '<script>', '😀', ' '),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('topic', 'window', 'from', 'to', 'replay', 'limit', 'start', 'emotion', 'all', '1m', '5m', '1h', 'happy', '0', '-1', '1e309', 'NaN', '2026-11-30T12:00:00Z'),
);
const urlText = fc.array(urlPiece, { maxLength: 60 }).map((parts) => parts.join(''));

function isClientError(error: unknown): boolean {
  return error instanceof MoodstreamError && ERROR_CODES[error.code].status >= 400 && ERROR_CODES[error.code].status < 500;
}

/** A request and response pair good enough for the router: records the status it answers. */
function exchange(url: string, method = 'GET'): { req: IncomingMessage; res: ServerResponse; status: () => number } {
  let status = 0;
  const res = {
    headersSent: false,
    statusCode: 200,
    writeHead(code: number) {
      status = code;
      this.headersSent = true;
      return this;
    },
    setHeader: () => undefined,
    end: () => undefined,
    destroy: () => undefined,
  };
  const req = { url, method, headers: {} } as unknown as IncomingMessage;
  return { req, res: res as unknown as ServerResponse, status: () => status || res.statusCode };
}

describe('fuzz: HTTP paths and API queries', () => {
  const router = createRouter({ owns: (path) => path.startsWith('/api') })
    .get('/api/topics', ({ res }) => void res.writeHead(200).end())
    .get('/api/replays/:id', ({ res, params }) => {
      assert.equal(typeof params['id'], 'string');
      res.writeHead(404).end();
    })
    .post('/api/alerts/:id/ack', ({ res }) => void res.writeHead(404).end());

  it('any path: answered with a 2xx or a 4xx, never a 500 or an exception', async () => {
    const stats = { worstMs: 0 };
    await fc.assert(
      fc.asyncProperty(urlText, fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'HEAD'), async (tail, method) => {
        const { req, res, status } = exchange(`/api/${tail}`, method);
        const { ms } = await cpuMsAsync(() => router.handle(req, res));
        stats.worstMs = Math.max(stats.worstMs, ms);
        assert.ok(ms < FUZZ_INPUT_LIMIT_MS, `${ms.toFixed(1)} ms`);
        assert.ok(status() < 500, `status ${status()} for ${method} /api/${tail}`);
        return true;
      }),
      fuzzParams(1_500),
    );
    process.stderr.write(`fuzz router paths: worst ${stats.worstMs.toFixed(1)} ms CPU\n`);
  });

  it('any query string against every API query schema: parsed, or a 400 naming the field', () => {
    const stats = { worstMs: 0 };
    const schemas = [SeriesQuerySchema, AlertsQuerySchema, ExamplePostsQuerySchema] as const;
    fc.assert(
      fc.property(urlText, fc.constantFrom(0, 1, 2), (query, which) => {
        withinLimit(
          'query parsing',
          () => {
            try {
              parseInput(schemas[which], queryObject(new URLSearchParams(query)), 'query');
            } catch (error) {
              assert.ok(isClientError(error), `unexpected ${String(error)}`);
              assert.equal((error as MoodstreamError).code, 'BAD_REQUEST');
            }
          },
          stats,
        );
        return true;
      }),
      fuzzParams(2_000),
    );
    // Large: thousands of keys and very long values (the dashboard refuses targets over 8 KB first; the API alone may see more).
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 0, max: 50_000 }), (keys, valueLength) => {
        const query = Array.from({ length: keys }, (_, i) => `k${i % 7 === 0 ? 'topic' : i}=${'v'.repeat(valueLength / keys)}`).join('&');
        withinLimit('large query', () => {
          try {
            parseInput(SeriesQuerySchema, queryObject(new URLSearchParams(query)), 'query');
          } catch (error) {
            assert.ok(isClientError(error));
          }
        }, stats);
        return true;
      }),
      { ...fuzzParams(40), endOnFailure: true },
    );
    process.stderr.write(`fuzz API queries: worst ${stats.worstMs.toFixed(1)} ms CPU\n`);
  });
});

describe('fuzz: replay request bodies', () => {
  const body = fc.oneof(
    fc.json().map((json) => Buffer.from(json)),
    fc.record({ topic: fc.oneof(fc.string(), fc.anything()), from: fc.oneof(fc.integer(), fc.string(), fc.anything()), to: fc.oneof(fc.integer(), fc.string(), fc.anything()), speed: fc.anything(), rescore: fc.anything() }, { requiredKeys: [] }).map((o) => Buffer.from(JSON.stringify(o) ?? '')),
    fc.uint8Array({ maxLength: 2_000 }).map((bytes) => Buffer.from(bytes)),
    fc.string().map((text) => Buffer.from(text)),
  );

  it('any body and content type: a replay request, or 400/413/415 — never another error', async () => {
    const stats = { worstMs: 0 };
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'multipart/form-data', ''), async (bytes, type) => {
        const req = Object.assign(Readable.from([bytes]), { headers: { 'content-type': type, 'content-length': String(bytes.length) } }) as unknown as IncomingMessage;
        const { ms } = await cpuMsAsync(async () => {
          try {
            parseInput(ReplayRequestSchema, await readJsonBody(req, 16 * 1024), 'replay request');
          } catch (error) {
            assert.ok(isClientError(error), `unexpected ${String(error)}`);
            assert.ok(['BAD_REQUEST', 'BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'].includes((error as MoodstreamError).code));
          }
        });
        stats.worstMs = Math.max(stats.worstMs, ms);
        assert.ok(ms < FUZZ_INPUT_LIMIT_MS, `${ms.toFixed(1)} ms`);
        return true;
      }),
      fuzzParams(1_500),
    );
    process.stderr.write(`fuzz replay bodies: worst ${stats.worstMs.toFixed(1)} ms CPU\n`);
  });
});

describe('fuzz: Kafka record codec', () => {
  const types = Object.keys(EVENT_TYPES) as EventTypeName[];
  const record = fc.oneof(
    fc.uint8Array({ maxLength: 4_000 }).map((bytes) => Buffer.from(bytes)),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 20 }).map((value) => JSON.stringify(value)),
    fc.constant(null),
  );

  it('any bytes for any event type: a value or a short reason, never an exception', () => {
    const stats = { worstMs: 0 };
    fc.assert(
      fc.property(fc.constantFrom(...types), record, fc.option(fc.string({ maxLength: 5 })), (type, value, version) => {
        const result = withinLimit('decodeEvent', () => decodeEvent(type, value, version === null ? {} : { 'ms-schema-version': version }), stats);
        if (!result.ok) assert.ok(result.reason.length > 0 && result.reason.length <= MAX_DECODE_REASON_CHARS);
        return true;
      }),
      fuzzParams(2_000),
    );
    process.stderr.write(`fuzz decodeEvent: worst ${stats.worstMs.toFixed(1)} ms CPU\n`);
  });
});
