import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ConsumerLifecycle } from '../src/consumer-lifecycle';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('consumer lifecycle: a finished batch is not kept alive by the lifecycle (no reaction piles up per batch)', async () => {
  const lifecycle = new ConsumerLifecycle('g');
  lifecycle.start();
  const refs: WeakRef<object>[] = [];
  for (let i = 0; i < 100; i++) {
    const outcome = { kind: 'committed', records: new Array<number>(1_000).fill(i) };
    refs.push(new WeakRef(outcome));
    assert.equal(await lifecycle.untilAborted(Promise.resolve(outcome)), outcome);
  }
  // WeakRef targets live until the current job ends; then collect. The last one may still sit in a register.
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  const alive = refs.filter((ref) => ref.deref() !== undefined).length;
  assert.ok(alive <= 1, `${alive} of 100 finished batches' outcomes still reachable from the running consumer's lifecycle`);
});

test('consumer lifecycle: abort() ends every pending wait at once, and later ones at once too', async () => {
  const lifecycle = new ConsumerLifecycle('g');
  lifecycle.start();
  const hung = new Promise<string>(() => undefined);
  const waits = [lifecycle.untilAborted(hung), lifecycle.untilAborted(hung)];
  lifecycle.abort();
  assert.deepEqual(await Promise.all(waits), ['aborted', 'aborted']);
  assert.equal(await lifecycle.untilAborted(hung), 'aborted');
  await assert.rejects(new ConsumerLifecycle('h').untilAborted(Promise.reject(new Error('boom'))), /boom/);
});
