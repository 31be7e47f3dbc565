import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AbortedError, isProcessAlive, withProcessLock } from '../src/index';

const dir = mkdtempSync(join(tmpdir(), 'moodstream-lock-'));

test('isProcessAlive tells a running process from a finished one', async () => {
  assert.equal(isProcessAlive(process.pid), true);
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(isProcessAlive(child.pid!), false);
});

test('the lock holds our pid while fn runs, is released after, and one holder at a time runs', async () => {
  const path = join(dir, 'a.lock');
  const order: string[] = [];
  let inside = 0;
  const holder = (name: string) => async () => {
    inside++;
    assert.equal(inside, 1, 'one holder at a time');
    assert.equal(readFileSync(path, 'utf8'), String(process.pid));
    order.push(name);
    await new Promise((r) => setTimeout(r, 30));
    inside--;
  };
  // The second caller in this same process sees the file held by a live pid (ours) and waits for its release.
  await Promise.all([withProcessLock(path, holder('first')), withProcessLock(path, holder('second'), { pollMs: 10 })]);
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(existsSync(path), false);
});

test('a lock left by a dead process is taken over; a live holder can be waited out with a signal', async () => {
  const stale = join(dir, 'stale.lock');
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  writeFileSync(stale, String(child.pid));
  assert.equal(await withProcessLock(stale, async () => 'ran'), 'ran');

  const held = join(dir, 'held.lock');
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
  try {
    writeFileSync(held, String(sleeper.pid));
    const waits: number[] = [];
    await assert.rejects(
      withProcessLock(held, async () => 'never', { pollMs: 10, signal: AbortSignal.timeout(100), onWait: (pid) => waits.push(pid) }),
      (error: unknown) => error instanceof AbortedError && /held by pid/.test(error.message),
    );
    assert.deepEqual(waits, [sleeper.pid], 'told once who holds it');
    assert.equal(readFileSync(held, 'utf8'), String(sleeper.pid), 'a live holder is never robbed');
  } finally {
    sleeper.kill();
  }
});
