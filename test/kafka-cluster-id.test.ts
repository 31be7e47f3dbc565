/**
 * The KRaft cluster id that scripts/services.ts passes to `kafka-storage format -t <id>`. kafka-storage parses its
 * arguments with argparse, which reads a value starting with "-" as a flag ("argument --cluster-id/-t: expected one
 * argument"); base64url starts with "-" for 1 in 64 random ids, which once failed a CI run.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { newClusterId } from '../scripts/services';

describe('newClusterId', () => {
  it('never starts with "-", even when the random bytes would make it so', () => {
    // 0xf8 = 0b111110_00: the first base64url character is index 62, "-".
    const draws = [Buffer.from([0xf8, ...randomBytes(15)]), Buffer.from([0xf8, ...randomBytes(15)]), Buffer.from([0x12, ...randomBytes(15)])];
    const id = newClusterId(() => draws.shift() ?? randomBytes(16));
    assert.notEqual(id[0], '-', `cluster id ${id}`);
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });

  it('is a 22-character base64url encoding of 16 bytes', () => {
    for (let i = 0; i < 1000; i++) {
      const id = newClusterId();
      assert.equal(Buffer.from(id, 'base64url').length, 16);
      assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
