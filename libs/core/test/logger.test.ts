import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, scrubSecrets } from '../src/index';

function capture(): { lines: () => Record<string, unknown>[]; raw: () => string; destination: Writable } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  return {
    destination,
    raw: () => text,
    lines: () =>
      text
        .trim()
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const SECRET = 'tUmBlRsEcReT123';

test('the API key is redacted from object fields by name', () => {
  const out = capture();
  const logger = createLogger('t', { destination: out.destination, level: 'info' });
  logger.info({ apiKey: SECRET, config: { TUMBLR_API_KEY: SECRET }, client: { api_key: SECRET } }, 'configured');
  assert.ok(!out.raw().includes(SECRET), out.raw());
  const [line] = out.lines();
  assert.equal(line?.['apiKey'], '[redacted]');
  assert.deepEqual(line?.['config'], { TUMBLR_API_KEY: '[redacted]' });
  assert.deepEqual(line?.['client'], { api_key: '[redacted]' });
});

test('the API key is scrubbed from URLs in the message, in object fields and in errors', () => {
  const out = capture();
  const logger = createLogger('t', { destination: out.destination, level: 'info' });
  const url = `https://api.tumblr.com/v2/tagged?tag=winter&api_key=${SECRET}&before=1700000000`;
  logger.info(`fetching ${url}`);
  logger.warn({ url, attempt: { urls: [url] } }, 'slow response');
  logger.error({ err: new Error(`request to ${url} failed`) }, 'fetch failed');
  assert.ok(!out.raw().includes(SECRET), out.raw());
  const [first, second, third] = out.lines();
  assert.equal(first?.['msg'], 'fetching https://api.tumblr.com/v2/tagged?tag=winter&api_key=[redacted]&before=1700000000');
  assert.equal(second?.['url'], 'https://api.tumblr.com/v2/tagged?tag=winter&api_key=[redacted]&before=1700000000');
  const err = third?.['err'] as { type: string; message: string; stack: string };
  assert.equal(err.type, 'Error', 'errors are still serialised as errors');
  assert.match(err.message, /api_key=\[redacted\]&before/);
});

test('scrubSecrets knows the usual names and leaves other parameters alone', () => {
  assert.equal(scrubSecrets('a?token=x&page=2'), 'a?token=[redacted]&page=2');
  assert.equal(scrubSecrets('a?oauth_token=x'), 'a?oauth_token=[redacted]');
  assert.equal(scrubSecrets('a?KEY=x'), 'a?KEY=[redacted]');
  assert.equal(scrubSecrets('a?monkey=x&tag=key'), 'a?monkey=x&tag=key');
});

test('the logger does not change the caller\'s objects', () => {
  const out = capture();
  const logger = createLogger('t', { destination: out.destination, level: 'info' });
  const fields = { url: `https://x/?api_key=${SECRET}` };
  logger.info(fields, 'x');
  assert.equal(fields.url, `https://x/?api_key=${SECRET}`);
});
