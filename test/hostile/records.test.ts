/**
 * Hostile input catalogue, records (docs/hostile-inputs.md): what a bad record on a Kafka topic or a repeated post id
 * can do. The bus edge never throws: a record that does not parse becomes a reason string, sent with the record to
 * the dead-letter topic in the `ms-dlq-reason` header (libs/bus/test/contract.ts checks that plumbing on both buses).
 * The aggregate counts each post id once per topic and bucket, and says how many repeats it ignored.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEvent } from '@moodstream/bus';
import { createLogger, VirtualClock } from '@moodstream/core';
import { HEADERS, type Post } from '@moodstream/events';
import { createMemoryTrendsStore, LIVE_NAMESPACE, liveRetention, liveTopicsOf, trendsConfig, TrendsEngine } from '@moodstream/trends';
import { scoredPost, T0 } from '../../libs/trends/test/fixtures';
import { cpuMs } from './support/cpu-time';

const post: Post = {
  id: '1',
  blog: 'someone',
  url: 'https://someone.tumblr.com/post/1',
  timestamp: T0,
  topics: ['happy'],
  tags: ['happy'],
  text: 'a good day',
  imageUrl: null,
  noteCount: null,
  source: 'live',
  label: 'happy',
  ingestedAt: T0 + 1_000,
};

/** A reason is logged and reported with the dead letter: it must stay small whatever the record held. */
const MAX_REASON = 1_024;

describe('hostile Kafka records', () => {
  const bad: [string, Buffer | string | null, Record<string, string>?][] = [
    ['null value (a tombstone)', null],
    ['empty', Buffer.alloc(0)],
    ['not JSON', '{"id": "1", not json'],
    ['truncated JSON', JSON.stringify(post).slice(0, 40)],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['a JSON scalar', '42'],
    ['wrong types', JSON.stringify({ ...post, timestamp: 'now', topics: 'happy', text: 7 })],
    ['missing fields', JSON.stringify({ id: '1' })],
    ['a future schema version', JSON.stringify(post), { [HEADERS.schemaVersion]: '999' }],
    ['100,000-deep nesting', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['a 900 KB unknown key', JSON.stringify({ ...post, ['k'.repeat(900_000)]: 1 })],
    ['a 900 KB topic', JSON.stringify({ ...post, topics: ['t'.repeat(900_000)] })],
    // Each wrong element is its own issue (about 15 µs of CPU apiece): 1,000 stay well inside the limit. A 1 MB record
    // (the broker's cap) of them costs seconds — only our validated producers write these topics.
    ['1,000 bad tags', JSON.stringify({ ...post, tags: Array.from({ length: 1_000 }, (_, i) => i) })],
    ['a __proto__ key', `{"__proto__": {"polluted": true}, ${JSON.stringify(post).slice(1)}`],
  ];
  for (const [kind, value, headers] of bad) {
    it(`${kind}: a short reason for the dead-letter topic, never an exception`, () => {
      const { value: result, ms } = cpuMs(() => decodeEvent('Post', value, headers ?? {}));
      if (kind === 'a __proto__ key') {
        // JSON.parse makes it an own key, and the schema drops unknown keys: the post is fine and nothing is polluted.
        assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
        return;
      }
      assert.equal(result.ok, false, kind);
      const reason = (result as { reason: string }).reason;
      assert.ok(reason.length > 0 && reason.length <= MAX_REASON, `${kind}: reason of ${reason.length} characters`);
      assert.ok(ms < 100, `${kind}: ${ms.toFixed(1)} ms of CPU`);
    });
  }

  it('a good record next to them still decodes', () => {
    assert.deepEqual(decodeEvent('Post', JSON.stringify(post)), { ok: true, value: post });
  });
});

describe('one post id with two contents', () => {
  it('is counted once (the first version), the repeat counted as a duplicate, other posts untouched', async () => {
    const clock = new VirtualClock(T0 + 60_000);
    const config = trendsConfig({});
    const store = createMemoryTrendsStore({ clock });
    const engine = new TrendsEngine({
      ns: LIVE_NAMESPACE,
      replayId: null,
      store,
      config,
      clock,
      logger: createLogger('hostile', { level: 'silent' }),
      topicsOf: liveTopicsOf,
      retention: liveRetention(config),
      stateTtlMs: 86_400_000,
      confusion: null,
      onSeries: () => undefined,
      onAlert: () => undefined,
    });
    const first = scoredPost({ postId: 'same', timestamp: T0 + 5_000, topics: ['cats'], probabilities: [0.9, 0.02, 0.02, 0.02, 0.02, 0.02], text: 'first' });
    const second = scoredPost({ postId: 'same', timestamp: T0 + 5_000, topics: ['cats'], probabilities: [0.02, 0.02, 0.02, 0.02, 0.02, 0.9], text: 'edited' });
    const other = scoredPost({ postId: 'other', timestamp: T0 + 6_000, topics: ['cats'] });
    const a = await engine.ingest([first, other]);
    const b = await engine.ingest([second]);
    // Each post is counted under its topic and under "all".
    assert.deepEqual([a.added, a.duplicates], [4, 0]);
    assert.deepEqual([b.added, b.duplicates], [0, 2]);
    const [bucket] = await store.readBuckets(LIVE_NAMESPACE, [{ topic: 'cats', size: '1m', start: T0 }]);
    assert.equal(bucket?.count, 2);
    // 'other' is happy too: had the edit counted, a disgusted post would show.
    assert.equal(bucket?.top[0], 2, 'the first version\'s emotion is the one counted');
    assert.equal(bucket?.top[5], 0);
    engine.dispose();
  });
});
