import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TumblrAuthError, TumblrClient, TumblrRateLimitError, TumblrRejectedError, generateTaggedPosts, startTumblrStandIn, type RateLimitInfo } from '../src/index';

test('a 429 without Retry-After waits for the reset of the window its headers show spent; every answer reaches onRateLimit', async () => {
  const standIn = await startTumblrStandIn({
    posts: generateTaggedPosts({ tags: ['happy'], perTag: 5 }).posts,
    behaviours: {
      faults: [
        { kind: 'rate-limit', fromRequest: 1, retryAfterSeconds: null, exhausted: 'day', resetSeconds: 5000 },
        { kind: 'rate-limit', fromRequest: 2, retryAfterSeconds: null, exhausted: 'hour', resetSeconds: 120 },
        { kind: 'rate-limit', fromRequest: 3, retryAfterSeconds: 9, exhausted: 'day', resetSeconds: 5000 },
      ],
    },
  });
  const seen: RateLimitInfo[] = [];
  try {
    const client = new TumblrClient({ apiKey: 'standin-key', baseUrl: standIn.url, onRateLimit: (info) => seen.push(info) });
    for (const expected of [5_000_000, 120_000, 9_000]) {
      await assert.rejects(client.tagged({ tag: 'happy' }), (e: unknown) => e instanceof TumblrRateLimitError && e.retryAfterMs === expected);
    }
    const page = await client.tagged({ tag: 'happy' });
    assert.equal(page.posts.length, 5);
    assert.deepEqual(seen.map((s) => [s.perDayRemaining, s.perHourRemaining]), [[0, null], [null, 0], [0, null], [4999, 999]]);
  } finally {
    await standIn.close();
  }
});

test("meta.status is believed over the HTTP line; 404 and other permanent 4xx are rejections, never retriable", async () => {
  const standIn = await startTumblrStandIn({
    posts: generateTaggedPosts({ tags: ['happy'], perTag: 5 }).posts,
    behaviours: {
      refusedTags: { gone: 404, odd: 400 },
      faults: [
        { kind: 'envelope-status', fromRequest: 1, status: 401, metaStatus: 429 },
        { kind: 'envelope-status', fromRequest: 2, status: 200, metaStatus: 403 },
      ],
    },
  });
  try {
    const client = new TumblrClient({ apiKey: 'standin-key', baseUrl: standIn.url });
    await assert.rejects(client.tagged({ tag: 'happy' }), (e: unknown) => e instanceof TumblrRateLimitError && e.retriable);
    await assert.rejects(client.tagged({ tag: 'happy' }), (e: unknown) => e instanceof TumblrAuthError && e.httpStatus === 403);
    await assert.rejects(client.tagged({ tag: 'gone' }), (e: unknown) => e instanceof TumblrRejectedError && e.httpStatus === 404 && !e.retriable && /Not Found/.test(e.message));
    await assert.rejects(client.tagged({ tag: 'odd' }), (e: unknown) => e instanceof TumblrRejectedError && e.httpStatus === 400);
    // An error page that is not JSON keeps its HTTP status.
    const html = new TumblrClient({ apiKey: 'k', baseUrl: 'http://x.test', fetch: () => Promise.resolve(new Response('<h1>nope</h1>', { status: 404 })) });
    await assert.rejects(html.tagged({ tag: 'happy' }), (e: unknown) => e instanceof TumblrRejectedError && e.httpStatus === 404);
  } finally {
    await standIn.close();
  }
});
