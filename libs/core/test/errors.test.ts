import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES, MoodstreamError, ValidationError, errorCode, httpStatusOf, isErrorCode, isRetriable } from '../src/index';

test('every code declares whether it is retriable and a valid HTTP status', () => {
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/, code);
    assert.equal(typeof spec.retriable, 'boolean', code);
    assert.ok(spec.status >= 400 && spec.status <= 599, `${code}: ${spec.status}`);
  }
});

test('an error takes retriable and status from its code', () => {
  const away = new MoodstreamError('BUS_KAFKA_UNAVAILABLE', 'broker away');
  assert.equal(away.retriable, true);
  assert.equal(away.status, 503);
  assert.equal(isRetriable(away), true);
  const bad = new ValidationError('no');
  assert.equal(bad.code, 'VALIDATION_FAILED');
  assert.equal(bad.retriable, false);
  assert.equal(httpStatusOf(bad), 400);
  assert.equal(httpStatusOf(new MoodstreamError('TRENDS_REPLAY_EXISTS', 'again')), 409);
});

test('anything not raised on purpose is INTERNAL (500); foreign errors keep their retriable flag', () => {
  assert.equal(errorCode(new Error('boom')), 'INTERNAL');
  assert.equal(httpStatusOf('a string'), 500);
  assert.equal(errorCode({ code: 'NOT_FOUND' }), 'NOT_FOUND');
  assert.equal(errorCode({ code: 'ECONNRESET' }), 'INTERNAL');
  assert.equal(isRetriable({ retriable: true }), true);
  assert.equal(isErrorCode('TUMBLR_AUTH'), true);
  assert.equal(isErrorCode('toString'), false, 'only own keys of the list count');
});
