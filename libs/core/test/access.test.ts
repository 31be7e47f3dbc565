import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { AccessRefusedError, createOperatorAccess, createRateLimiter, isLoopbackAddress, tokensEqual, VirtualClock } from '../src/index';

/** A request as the guard sees it: headers and the socket's peer address. */
function request(remoteAddress: string, headers: Record<string, string> = {}): IncomingMessage {
  return { headers: { host: 'localhost:3000', ...headers }, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function refusal(fn: () => void): { reason: string; code: string; message: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AccessRefusedError);
    return { reason: error.reason, code: error.code, message: error.message };
  }
  assert.fail('expected a refusal');
}

describe('operator access', () => {
  it('knows loopback addresses, IPv4-mapped included', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopbackAddress(a), true, a);
    for (const a of ['192.0.2.2', '::ffff:10.0.0.1', '::', '1127.0.0.1', undefined]) assert.equal(isLoopbackAddress(a), false, String(a));
  });

  it('without a token: loopback allowed, anyone else refused 403 with how to configure the token', () => {
    const access = createOperatorAccess({});
    assert.equal(access.tokenRequired, false);
    access.check(request('127.0.0.1'));
    access.check(request('::ffff:127.0.0.1', { host: '127.0.0.1:3000' }));
    const refused = refusal(() => access.check(request('192.0.2.2')));
    assert.equal(refused.code, 'FORBIDDEN');
    assert.equal(refused.reason, 'not_loopback');
    assert.match(refused.message, /DASHBOARD_OPERATOR_TOKEN/);
  });

  it('without a token: a loopback peer reached under another host name (DNS rebinding) is refused', () => {
    const refused = refusal(() => createOperatorAccess({}).check(request('127.0.0.1', { host: 'evil.example:3000' })));
    assert.equal(refused.reason, 'not_loopback');
  });

  it('with a token: the right bearer token from anywhere, anything else 401 (loopback too)', () => {
    const access = createOperatorAccess({ token: 's3cret-token' });
    assert.equal(access.tokenRequired, true);
    access.check(request('192.0.2.2', { authorization: 'Bearer s3cret-token', host: 'dash.example' }));
    access.check(request('127.0.0.1', { authorization: 'bearer s3cret-token' }));
    for (const authorization of [undefined, 'Bearer wrong', 'Bearer s3cret-token-and-more', 'Basic s3cret-token', 'Bearer ']) {
      const refused = refusal(() => access.check(request('127.0.0.1', authorization === undefined ? {} : { authorization })));
      assert.equal(refused.code, 'UNAUTHORIZED', String(authorization));
      assert.equal(refused.reason, 'unauthorized');
      assert.doesNotMatch(refused.message, /s3cret/);
    }
  });

  it('refuses what another site makes a browser send, even from loopback and with the token', () => {
    const access = createOperatorAccess({ token: 't' });
    const ok = { authorization: 'Bearer t' };
    access.check(request('127.0.0.1', { ...ok, origin: 'http://localhost:3000', 'sec-fetch-site': 'same-origin' }));
    const crossSite: Record<string, string>[] = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'http://evil.example' }, { origin: 'null' }];
    for (const headers of crossSite) {
      const refused = refusal(() => access.check(request('127.0.0.1', { ...ok, ...headers })));
      assert.equal(refused.reason, 'cross_site', JSON.stringify(headers));
      assert.equal(refused.code, 'FORBIDDEN');
    }
  });

  it('compares tokens by digest (any lengths)', () => {
    assert.equal(tokensEqual('abc', 'abc'), true);
    assert.equal(tokensEqual('abc', 'abcd'), false);
    assert.equal(tokensEqual('', 'abc'), false);
  });
});

describe('rate limiter (token bucket, virtual time)', () => {
  it('allows a burst of perMinute, then refuses with the seconds until the next token', () => {
    const clock = new VirtualClock(0);
    const limiter = createRateLimiter({ perMinute: 6, clock });
    for (let i = 0; i < 6; i++) assert.deepEqual(limiter.take('a'), { allowed: true });
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 10 });
    // Another client has its own bucket.
    assert.deepEqual(limiter.take('b'), { allowed: true });
    clock.advance(4_000);
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 6 });
    clock.advance(6_000);
    assert.deepEqual(limiter.take('a'), { allowed: true });
    assert.equal(limiter.take('a').allowed, false);
    clock.advance(60_000);
    for (let i = 0; i < 6; i++) assert.equal(limiter.take('a').allowed, true, `refilled to the burst, token ${i}`);
    assert.equal(limiter.take('a').allowed, false, 'never more than the burst');
  });

  it('keeps at most maxKeys buckets, dropping refilled ones first', () => {
    const clock = new VirtualClock(0);
    const limiter = createRateLimiter({ perMinute: 2, clock, maxKeys: 3 });
    limiter.take('busy');
    limiter.take('busy');
    clock.advance(1_000);
    limiter.take('idle1');
    limiter.take('idle2');
    clock.advance(60_000);
    limiter.take('busy');
    limiter.take('busy');
    limiter.take('new');
    assert.ok(limiter.size() <= 3);
    assert.equal(limiter.take('busy').allowed, false, 'the busy client is still limited');
    for (let i = 0; i < 100; i++) limiter.take(`c${i}`);
    assert.ok(limiter.size() <= 3, `bounded: ${limiter.size()}`);
  });
});
