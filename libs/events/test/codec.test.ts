import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EMOTIONS, HEADERS, TOPICS, decodeEvent, isEmotion, normaliseTag, topicNames } from '../src/index';

const post = readFileSync(new URL('../fixtures/valid/post.json', import.meta.url), 'utf8');

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

test('topic names, with and without a deployment prefix', () => {
  assert.equal(TOPICS.posts, 'moodstream.posts');
  assert.deepEqual(topicNames('staging.'), {
    posts: 'staging.moodstream.posts',
    scored: 'staging.moodstream.scored',
    alerts: 'staging.moodstream.alerts',
    deadLetter: 'staging.moodstream.dead-letter',
  });
});

test('tags normalise to topics', () => {
  assert.equal(normaliseTag('  #First   Snow '), 'first snow');
  assert.equal(normaliseTag('##ＷＩＮＴＥＲ'), 'winter', 'full-width letters fold (NFKC)');
});

test('the six emotions, in their fixed order', () => {
  assert.deepEqual(EMOTIONS, ['happy', 'sad', 'angry', 'surprised', 'scared', 'disgusted']);
  assert.ok(isEmotion('scared'));
  assert.ok(!isEmotion('Scared'));
});
