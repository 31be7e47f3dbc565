import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TumblrAuthError,
  TumblrClient,
  TumblrRateLimitError,
  TumblrResponseError,
  TumblrServerError,
  generateTaggedPosts,
  retryAfterMs,
  startTumblrStandIn,
} from '../src/index';

const SECRET = 'k3y-that-must-never-leak';

test('pages with before, newest first, limit ≤ 20, with the rate-limit headers read', async () => {
  const { posts } = generateTaggedPosts({ tags: ['happy'], perTag: 45, newestTimestamp: 1_700_000_000, spacingSeconds: 10 });
  const standIn = await startTumblrStandIn({ posts, behaviours: { apiKey: SECRET } });
  try {
    const client = new TumblrClient({ apiKey: SECRET, baseUrl: standIn.url });
    const first = await client.tagged({ tag: 'happy', limit: 50 });
    assert.equal(first.posts.length, 20);
    const stamps = first.posts.map((p) => (p as { timestamp: number }).timestamp);
    assert.deepEqual(stamps, [...stamps].sort((a, b) => b - a));
    assert.equal(first.rateLimit.perHourRemaining, 999);
    assert.equal(first.rateLimit.perDayRemaining, 4999);
    const second = await client.tagged({ tag: 'happy', before: stamps.at(-1) as number });
    assert.ok((second.posts[0] as { timestamp: number }).timestamp < (stamps.at(-1) as number));
    const third = await client.tagged({ tag: 'happy', before: 1_700_000_000 - 39 * 10 });
    assert.equal(third.posts.length, 5);
    assert.equal(standIn.requestLog[0]?.limit, 20, 'limit clamped to 20');
  } finally {
    await standIn.close();
  }
});

test('401, 429 (with and without Retry-After), 5xx and malformed answers become typed errors without the key', async () => {
  const standIn = await startTumblrStandIn({
    posts: generateTaggedPosts({ tags: ['happy'], perTag: 5 }).posts,
    behaviours: {
      apiKey: SECRET,
      faults: [
        { kind: 'rate-limit', fromRequest: 2, retryAfterSeconds: 7 },
        { kind: 'rate-limit', fromRequest: 3, retryAfterSeconds: null },
        { kind: 'server-error', fromRequest: 4, status: 502 },
        { kind: 'malformed', fromRequest: 5, malformation: 'truncated-json' },
        { kind: 'malformed', fromRequest: 6, malformation: 'no-envelope' },
        { kind: 'malformed', fromRequest: 7, malformation: 'html' },
        { kind: 'malformed', fromRequest: 8, malformation: 'huge-body' },
        { kind: 'malformed', fromRequest: 9, malformation: 'wrong-types' },
      ],
    },
  });
  const errors: unknown[] = [];
  try {
    const bad = new TumblrClient({ apiKey: 'wrong-' + SECRET, baseUrl: standIn.url });
    await assert.rejects(bad.tagged({ tag: 'happy' }), (e: unknown) => e instanceof TumblrAuthError && !e.retriable && e.code === 'TUMBLR_AUTH' && e.httpStatus === 401);
    const client = new TumblrClient({ apiKey: SECRET, baseUrl: standIn.url });
    const expectations: [new (...args: never[]) => Error, (e: never) => boolean][] = [
      [TumblrRateLimitError, (e: TumblrRateLimitError) => e.retryAfterMs === 7000],
      [TumblrRateLimitError, (e: TumblrRateLimitError) => e.retryAfterMs === null],
      [TumblrServerError, (e: TumblrServerError) => e.httpStatus === 502],
      [TumblrResponseError, (e: TumblrResponseError) => e.kind === 'not-json'],
      [TumblrResponseError, (e: TumblrResponseError) => e.kind === 'bad-envelope'],
      [TumblrResponseError, (e: TumblrResponseError) => e.kind === 'not-json'],
      [TumblrResponseError, (e: TumblrResponseError) => e.kind === 'too-large'],
      [TumblrResponseError, (e: TumblrResponseError) => e.kind === 'bad-envelope'],
    ];
    for (const [type, check] of expectations) {
      await assert.rejects(client.tagged({ tag: 'happy' }), (e: unknown) => {
        errors.push(e);
        return e instanceof type && check(e as never) && (e as unknown as { retriable: boolean }).retriable;
      });
    }
    const down = new TumblrClient({ apiKey: SECRET, baseUrl: 'http://127.0.0.1:1' });
    await assert.rejects(down.tagged({ tag: 'happy' }), (e: unknown) => {
      errors.push(e);
      return e instanceof TumblrServerError && e.httpStatus === null;
    });
    for (const e of errors) assert.doesNotMatch(JSON.stringify({ message: (e as Error).message, stack: (e as Error).stack }), new RegExp(SECRET));
  } finally {
    await standIn.close();
  }
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  assert.equal(retryAfterMs('3'), 3000);
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6_000);
  assert.equal(retryAfterMs('soon'), null);
  assert.equal(retryAfterMs(null), null);
});

test('invalid UTF-8 in an answer is decoded with replacement characters, not a failed page', async () => {
  const { badPosts } = await import('../src/index');
  const standIn = await startTumblrStandIn({ posts: badPosts('happy', 1_700_000_000).map((b) => b.post) });
  try {
    const page = await new TumblrClient({ apiKey: 'standin-key', baseUrl: standIn.url }).tagged({ tag: 'happy' });
    assert.ok(JSON.stringify(page.posts).includes('\uFFFD'));
  } finally {
    await standIn.close();
  }
});

test('the stand-in enforces its per-minute limit with 429 and Retry-After', async () => {
  const standIn = await startTumblrStandIn({ posts: [], behaviours: { limits: { perMinute: 3 } } });
  try {
    const client = new TumblrClient({ apiKey: 'standin-key', baseUrl: standIn.url });
    for (let i = 0; i < 3; i++) await client.tagged({ tag: 'x' });
    await assert.rejects(client.tagged({ tag: 'x' }), (e: unknown) => e instanceof TumblrRateLimitError && (e.retryAfterMs ?? 0) > 0);
  } finally {
    await standIn.close();
  }
});

test('a fault injected at run time for a span of time affects exactly the calls inside it', async () => {
  const standIn = await startTumblrStandIn({ posts: generateTaggedPosts({ tags: ['happy'], perTag: 3 }).posts });
  try {
    const client = new TumblrClient({ apiKey: 'standin-key', baseUrl: standIn.url });
    await client.tagged({ tag: 'happy' });
    standIn.inject({ kind: 'server-error', forMs: 300, status: 503 });
    await assert.rejects(client.tagged({ tag: 'happy' }), (e: unknown) => e instanceof TumblrServerError && e.httpStatus === 503);
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.equal((await client.tagged({ tag: 'happy' })).posts.length, 3);
    assert.deepEqual(standIn.requestLog.map((r) => r.status), [200, 503, 200]);
    assert.equal(standIn.okCalls(), 2);
  } finally {
    await standIn.close();
  }
});
