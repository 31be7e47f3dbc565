import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { ValidationError } from '@moodstream/core';
import { decodeEvent, encodeEvent, parseEvent, type EventTypeName } from '../src/index';

const fixtures = new URL('../fixtures/', import.meta.url);

function load(path: string): unknown {
  return JSON.parse(readFileSync(new URL(path, fixtures), 'utf8'));
}

function typeOf(file: string): EventTypeName {
  if (file.startsWith('scored-post')) return 'ScoredPost';
  if (file.startsWith('post')) return 'Post';
  if (file.startsWith('alert')) return 'Alert';
  throw new Error(`fixture ${file} does not say which event type it is`);
}

/** Each broken fixture and the readable message it must be rejected with. */
const BROKEN: Record<string, string> = {
  'post-not-normalised-topic.json': 'invalid Post: topics.0: must be a normalised tag (lower-case, no #, trimmed)',
  'post-javascript-image-url.json': 'invalid Post: imageUrl: must be an http(s) URL',
  'post-unknown-label.json':
    "invalid Post: label: Invalid enum value. Expected 'happy' | 'sad' | 'angry' | 'surprised' | 'scared' | 'disgusted', received 'bored'",
  'post-missing-fields.json': 'invalid Post: url: Required; timestamp: Required; imageUrl: Required; source: Required; label: Required; ingestedAt: Required',
  'post-extra-field.json': "invalid Post: (root): Unrecognized key(s) in object: 'html'",
  'scored-post-probabilities-not-summing.json': 'invalid ScoredPost: probabilities: probabilities must sum to 1',
  'scored-post-five-probabilities.json': 'invalid ScoredPost: probabilities: must hold 6 probabilities (happy, sad, angry, surprised, scared, disgusted)',
  'scored-post-bad-modality.json': "invalid ScoredPost: modality: Invalid enum value. Expected 'text' | 'image' | 'both', received 'audio'",
  'alert-window-backwards.json': 'invalid Alert: window: window end must be after its start',
  'alert-share-above-one.json': 'invalid Alert: observed: Number must be less than or equal to 1',
};

const validFiles = readdirSync(new URL('valid/', fixtures)).filter((f) => f.endsWith('.json'));
const brokenFiles = readdirSync(new URL('invalid/', fixtures)).filter((f) => f.endsWith('.json'));

test('there are golden fixtures of every event type', () => {
  const types = new Set(validFiles.map(typeOf));
  assert.deepEqual([...types].sort(), ['Alert', 'Post', 'ScoredPost']);
  assert.deepEqual(brokenFiles.sort(), Object.keys(BROKEN).sort(), 'every broken fixture has an expected message, and vice versa');
});

for (const file of validFiles) {
  test(`valid fixture ${file} parses, and survives the bus codec unchanged`, () => {
    const type = typeOf(file);
    const json = load(`valid/${file}`);
    const parsed = parseEvent(type, json);
    // Fields the fixture states come back as stated; defaults only fill what it leaves out.
    for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
      assert.deepEqual((parsed as Record<string, unknown>)[key], value, `${file}: ${key} changed while parsing`);
    }
    const encoded = encodeEvent(type, json as never);
    assert.equal(encoded.headers['ms-event-type'], type);
    assert.equal(encoded.headers['ms-schema-version'], '1');
    const decoded = decodeEvent(type, encoded.value, encoded.headers);
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.deepEqual(decoded.value, parsed);
  });
}

for (const file of brokenFiles) {
  test(`broken fixture ${file} is rejected with a readable message`, () => {
    const type = typeOf(file);
    const json = load(`invalid/${file}`);
    assert.throws(
      () => parseEvent(type, json),
      (error: unknown) => error instanceof ValidationError && error.message === BROKEN[file] && error.retriable === false,
    );
    const decoded = decodeEvent(type, Buffer.from(JSON.stringify(json)));
    assert.deepEqual(decoded, { ok: false, reason: BROKEN[file] });
    assert.throws(() => encodeEvent(type, json as never), { message: `refusing to produce an ${BROKEN[file]}` });
  });
}

test('minimal Post gets its defaults', () => {
  const post = parseEvent('Post', load('valid/post-minimal.json'));
  assert.deepEqual(post.tags, []);
  assert.equal(post.noteCount, null);
});

test('a ScoredPost without optional fields gets safe defaults', () => {
  const scored = parseEvent('ScoredPost', load('valid/scored-post-text-only.json'));
  assert.equal(scored.label, null);
  assert.equal(scored.text, '');
  assert.equal(scored.url, null);
});
