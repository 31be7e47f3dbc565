import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { LUA_UNPACK_NAMES, packNames } from '../src/redis-packed';

const REDIS_URL = process.env['REDIS_URL'];
if (REDIS_URL === undefined) throw new Error('REDIS_URL is not set: run this through `npm test`, which starts Redis and sets it');

/** Unpacks in Lua as the store scripts do, and answers the count and the strings as Redis reads them. */
const ROUND_TRIP = `${LUA_UNPACK_NAMES}
local names = unpackNames(ARGV[1])
local out = {#names}
for i = 1, #names do out[i + 1] = names[i] end
return out`;

describe('names packed for the store scripts (packNames / Lua unpackNames)', () => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  after(() => redis.quit());

  const roundTrip = async (names: string[]): Promise<string[]> => {
    const [count, ...back] = (await redis.eval(ROUND_TRIP, 0, packNames(names))) as [number, ...string[]];
    assert.equal(count, names.length, 'as many names as packed');
    return back;
  };

  it('round-trips any text: separators, NUL, multi-byte UTF-8, the empty string', async () => {
    const names = ['post-1', 'a:b', '3:abc', 'x,y', 'nul\u0000inside', 'naïve', '😱🌧️', '', ' '];
    assert.deepEqual(await roundTrip(names), names);
  });

  it('encodes a lone surrogate as Node does everywhere else (U+FFFD), without swallowing the next character', async () => {
    // User text can hold one; a packer that pairs it with the next unit changes the term (notepack.io does).
    assert.deepEqual(await roundTrip(['a\uD800b', 'x\uDC00', '\uD83D']), ['a\uFFFDb', 'x\uFFFD', '\uFFFD']);
    assert.deepEqual(packNames(['a\uD800b']), Buffer.concat([Buffer.from([0x91, 0xa5]), Buffer.from('a\uD800b')]));
  });

  it('round-trips the empty list', async () => {
    assert.deepEqual(await roundTrip([]), []);
  });

  it('takes names of every header size (bytes at each MessagePack boundary, counted in UTF-8)', async () => {
    const names = [31, 32, 255, 256, 65_535, 65_536].map((bytes) => 'a'.repeat(bytes));
    // 11 three-byte characters: 33 bytes, over the fix form's 31 though only 11 characters.
    names.push('€'.repeat(11));
    assert.deepEqual(await roundTrip(names), names);
  });

  it('takes lists of every header size (counts at each MessagePack boundary)', async () => {
    for (const count of [15, 16, 65_535, 65_536]) {
      const names = Array.from({ length: count }, (_, i) => `id${i}`);
      assert.deepEqual(await roundTrip(names), names, `${count} names`);
    }
  });

  it('packs an iterable once (a Map of terms, as the word-shift store passes it)', async () => {
    const terms = new Map([
      ['storm', 1],
      ['#tag', 2],
    ]);
    assert.deepEqual(await roundTrip([...terms.keys()]), ['storm', '#tag']);
    assert.deepEqual(packNames(terms.keys()), packNames(['storm', '#tag']));
  });
});
