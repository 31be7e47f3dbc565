import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Post } from '@moodstream/events';
import { EMPTY_CURSOR, initialBackfillCursor, walkPage } from '../src/index';

const post = (id: string, seconds: number): Post => ({
  id,
  blog: 'b',
  url: 'https://b.tumblr.com/post/1',
  timestamp: seconds * 1000,
  topics: ['happy'],
  tags: ['happy'],
  text: 'x',
  imageUrl: null,
  noteCount: null,
  source: 'live',
  label: 'happy',
  ingestedAt: 0,
});
const page = (from: number, count: number, step = 1): Post[] => Array.from({ length: count }, (_, i) => post(`p${from - i * step}`, from - i * step));

test('live: a first poll walks back to the lookback floor, remembering where it is', () => {
  const first = walkPage({ mode: 'live', cursor: EMPTY_CURSOR, floorMs: 900_000, requestedBefore: null, rawTimestamps: page(1000, 20).map((p) => p.timestamp / 1000), posts: page(1000, 20), limit: 20 });
  assert.equal(first.finished, false);
  assert.equal(first.fresh.length, 20);
  assert.deepEqual(first.cursor.walk, { top: 1_000_000, topIds: ['p1000'], before: 982 });
  assert.equal(first.cursor.newestTs, null, 'the floor moves only when the walk completes');
  const last = walkPage({ mode: 'live', cursor: first.cursor, floorMs: 900_000, requestedBefore: 982, rawTimestamps: [981, 980, 979], posts: page(981, 3), limit: 20 });
  assert.equal(last.finished, true);
  assert.deepEqual(last.cursor, { newestTs: 1_000_000, newestIds: ['p1000'], walk: null });
});

test('live: the next poll stops at the newest timestamp already read, and keeps same-second newcomers', () => {
  const cursor = { newestTs: 1_000_000, newestIds: ['p1000'], walk: null };
  const posts = [post('n1002', 1002), post('n1000', 1000), post('p1000', 1000), post('p999', 999)];
  const result = walkPage({ mode: 'live', cursor, floorMs: 0, requestedBefore: null, rawTimestamps: posts.map((p) => p.timestamp / 1000), posts, limit: 20 });
  assert.deepEqual(result.fresh.map((p) => p.id), ['n1002', 'n1000']);
  assert.equal(result.finished, true);
  assert.deepEqual(result.cursor, { newestTs: 1_002_000, newestIds: ['n1002'], walk: null });
});

test('a page ending in a cluster of one second is re-read from one second later; a full page of one second moves on', () => {
  const clustered = [...page(1000, 18), post('c1', 982), post('c2', 982)];
  const result = walkPage({ mode: 'backfill', cursor: initialBackfillCursor(2_000_000), floorMs: 0, ceilingMs: 2_000_000, requestedBefore: 2000, rawTimestamps: clustered.map((p) => p.timestamp / 1000), posts: clustered, limit: 20 });
  assert.equal(result.cursor.walk?.before, 983);
  const flat = Array.from({ length: 20 }, (_, i) => post(`s${i}`, 500));
  const stuck = walkPage({ mode: 'backfill', cursor: initialBackfillCursor(2_000_000), floorMs: 0, requestedBefore: 501, rawTimestamps: flat.map(() => 500), posts: flat, limit: 20 });
  assert.equal(stuck.cursor.walk?.before, 500);
  assert.equal(stuck.boundaryOverflow, true);
});

test('backfill keeps only [from, to) and finishes below from', () => {
  const posts = page(1010, 20);
  const result = walkPage({ mode: 'backfill', cursor: initialBackfillCursor(1_005_000), floorMs: 995_000, ceilingMs: 1_005_000, requestedBefore: 1005, rawTimestamps: posts.map((p) => p.timestamp / 1000), posts, limit: 20 });
  assert.deepEqual(result.fresh.map((p) => p.timestamp / 1000), [1004, 1003, 1002, 1001, 1000, 999, 998, 997, 996, 995]);
  assert.equal(result.finished, true);
  assert.equal(result.cursor.done, true);
});

test('unparsable posts still count for paging (their raw timestamps), so a bad page cannot stall a walk', () => {
  const result = walkPage({ mode: 'backfill', cursor: initialBackfillCursor(2_000_000), floorMs: 0, requestedBefore: 2000, rawTimestamps: Array.from({ length: 20 }, (_, i) => 1500 - i), posts: [], limit: 20 });
  assert.equal(result.finished, false);
  assert.equal(result.cursor.walk?.before, 1482);
});

test('a full page whose last second holds one post of it is re-read from one second later: the rest of that second may sit just past the page', () => {
  // Tumblr's page ends after 20 posts wherever that falls; `p981b` shares p981's second but is the 21st post.
  const first = page(1000, 20);
  const result = walkPage({ mode: 'live', cursor: EMPTY_CURSOR, floorMs: 900_000, requestedBefore: null, rawTimestamps: first.map((p) => p.timestamp / 1000), posts: first, limit: 20 });
  const before = result.cursor.walk?.before;
  assert.ok(before !== undefined && before !== null);
  const next = [post('p981', 981), post('p981b', 981), post('p980', 980)].filter((p) => p.timestamp / 1000 < before);
  assert.ok(next.some((p) => p.id === 'p981b'), `the next page (before=${before}) must still reach p981b`);
});
