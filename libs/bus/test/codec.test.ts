import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { ValidationError } from '@moodstream/core';
import { EVENT_TYPES, HEADERS, describeZodError, type EventTypeName } from '@moodstream/events';
import { decodeEvent, encodeEvent, parseEvent } from '../src/codec';

/** The golden fixtures belong to libs/events; found through the package so no path crosses into it by hand. */
const fixtures = new URL('../fixtures/', import.meta.resolve('@moodstream/events'));

function read(path: string): string {
  return readFileSync(new URL(path, fixtures), 'utf8');
}

function typeOf(file: string): EventTypeName {
  if (file.startsWith('scored-post')) return 'ScoredPost';
  if (file.startsWith('post')) return 'Post';
  if (file.startsWith('alert')) return 'Alert';
  throw new Error(`fixture ${file} does not say which event type it is`);
}

const post = read('valid/post.json');

test('decodeEvent never throws: each kind of bad record becomes a reason', () => {
  assert.deepEqual(decodeEvent('Post', null), { ok: false, reason: 'empty Post record' });
  assert.deepEqual(decodeEvent('Post', Buffer.alloc(0)), { ok: false, reason: 'empty Post record' });
  const notJson = decodeEvent('Post', '{"id":');
  assert.equal(notJson.ok, false);
  assert.match(notJson.ok ? '' : notJson.reason, /^Post record is not JSON: /);
  assert.deepEqual(decodeEvent('Post', '[]'), { ok: false, reason: 'invalid Post: (root): Expected object, received array' });
  assert.deepEqual(decodeEvent('Post', post, { [HEADERS.schemaVersion]: '2' }), {
    ok: false,
    reason: 'unsupported Post schema version 2 (this build reads version 1)',
  });
});

test('decodeEvent reads a record without a version header (written before headers existed)', () => {
  const decoded = decodeEvent('Post', Buffer.from(post));
  assert.equal(decoded.ok, true);
});

test('a Post is not a ScoredPost: decoding with the wrong type fails', () => {
  const decoded = decodeEvent('ScoredPost', post);
  assert.equal(decoded.ok, false);
  assert.match(decoded.ok ? '' : decoded.reason, /^invalid ScoredPost: postId: Required/);
});

test('reasons stay short even when everything is wrong', () => {
  const decoded = decodeEvent('Alert', '{}');
  assert.equal(decoded.ok, false);
  const reason = decoded.ok ? '' : decoded.reason;
  assert.equal(reason.split('; ').length, 8, 'at most eight issues are listed');
});

for (const file of readdirSync(new URL('valid/', fixtures)).filter((f) => f.endsWith('.json'))) {
  test(`valid fixture ${file} survives the bus codec unchanged`, () => {
    const type = typeOf(file);
    const json: unknown = JSON.parse(read(`valid/${file}`));
    const parsed = parseEvent(type, json);
    const encoded = encodeEvent(type, json as never);
    assert.equal(encoded.headers[HEADERS.eventType], type);
    assert.equal(encoded.headers[HEADERS.schemaVersion], String(EVENT_TYPES[type].version));
    const decoded = decodeEvent(type, encoded.value, encoded.headers);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.deepEqual(decoded.value, parsed);
  });
}

for (const file of readdirSync(new URL('invalid/', fixtures)).filter((f) => f.endsWith('.json'))) {
  test(`broken fixture ${file} is refused by every codec entry point, with the schema's own message`, () => {
    const type = typeOf(file);
    const json: unknown = JSON.parse(read(`invalid/${file}`));
    const result = EVENT_TYPES[type].schema.safeParse(json);
    if (result.success) throw new Error(`${file} is meant to be broken but parses`);
    const message = `invalid ${type}: ${describeZodError(result.error)}`;
    assert.throws(
      () => parseEvent(type, json),
      (error: unknown) => error instanceof ValidationError && error.message === message && error.retriable === false,
    );
    assert.deepEqual(decodeEvent(type, Buffer.from(JSON.stringify(json))), { ok: false, reason: message });
    assert.throws(() => encodeEvent(type, json as never), { message: `refusing to produce an ${message}` });
  });
}
