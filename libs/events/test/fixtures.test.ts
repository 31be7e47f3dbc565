import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';
import { EVENT_TYPES, describeZodError, type EventOf, type EventTypeName } from '../src/index';

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

function parse<N extends EventTypeName>(type: N, json: unknown): EventOf<N> {
  const result = EVENT_TYPES[type].schema.safeParse(json);
  if (!result.success) throw new Error(`invalid ${type}: ${describeZodError(result.error)}`);
  return result.data as EventOf<N>;
}

/** Each broken fixture and the readable message its schema rejects it with. (libs/bus checks the codec says the same.) */
const BROKEN: Record<string, string> = {
  'post-not-normalised-topic.json': 'topics.0: must be a normalised tag (lower-case, no #, trimmed)',
  'post-javascript-image-url.json': 'imageUrl: must be an http(s) URL',
  'post-unknown-label.json': "label: Invalid enum value. Expected 'happy' | 'sad' | 'angry' | 'surprised' | 'scared' | 'disgusted', received 'bored'",
  'post-missing-fields.json': 'url: Required; timestamp: Required; imageUrl: Required; source: Required; label: Required; ingestedAt: Required',
  'post-extra-field.json': "(root): Unrecognized key(s) in object: 'html'",
  'scored-post-probabilities-not-summing.json': 'probabilities: probabilities must sum to 1',
  'scored-post-five-probabilities.json': 'probabilities: must hold 6 probabilities (happy, sad, angry, surprised, scared, disgusted)',
  'scored-post-top-emotion-not-argmax.json': "topEmotion: must be the most probable emotion 'sad' (0.4), not 'happy' (0.05)",
  'scored-post-bad-modality.json': "modality: Invalid enum value. Expected 'text' | 'image' | 'both', received 'audio'",
  'alert-window-backwards.json': 'window: window end must be after its start',
  'alert-share-above-one.json': 'observed: Number must be less than or equal to 1',
};

const validFiles = readdirSync(new URL('valid/', fixtures)).filter((f) => f.endsWith('.json'));
const brokenFiles = readdirSync(new URL('invalid/', fixtures)).filter((f) => f.endsWith('.json'));

test('there are golden fixtures of every event type', () => {
  const types = new Set(validFiles.map(typeOf));
  assert.deepEqual([...types].sort(), ['Alert', 'Post', 'ScoredPost']);
  assert.deepEqual(brokenFiles.sort(), Object.keys(BROKEN).sort(), 'every broken fixture has an expected message, and vice versa');
});

for (const file of validFiles) {
  test(`valid fixture ${file} parses, keeping every field it states`, () => {
    const json = load(`valid/${file}`);
    const parsed = parse(typeOf(file), json);
    // Fields the fixture states come back as stated; defaults only fill what it leaves out.
    for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
      assert.deepEqual((parsed as Record<string, unknown>)[key], value, `${file}: ${key} changed while parsing`);
    }
  });
}

for (const file of brokenFiles) {
  test(`broken fixture ${file} is rejected with a readable message`, () => {
    const result = EVENT_TYPES[typeOf(file)].schema.safeParse(load(`invalid/${file}`));
    assert.equal(result.success, false);
    assert.equal(result.success ? '' : describeZodError(result.error), BROKEN[file]);
  });
}

test('minimal Post gets its defaults', () => {
  const post = parse('Post', load('valid/post-minimal.json'));
  assert.deepEqual(post.tags, []);
  assert.equal(post.noteCount, null);
});

test('a ScoredPost without optional fields gets safe defaults', () => {
  const scored = parse('ScoredPost', load('valid/scored-post-text-only.json'));
  assert.equal(scored.label, null);
  assert.equal(scored.text, '');
  assert.equal(scored.url, null);
});
