import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMOTION_COUNT, EMOTIONS, TOPICS, isEmotion, normaliseTag, topicNames } from '../src/index';

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
  assert.equal(EMOTION_COUNT, 6);
  assert.ok(isEmotion('scared'));
  assert.ok(!isEmotion('Scared'));
});
