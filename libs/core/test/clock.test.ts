import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../src/index';

test('VirtualClock only moves when told, and fires due timers in time order', () => {
  const clock = new VirtualClock(1_000);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push(`b@${clock.now()}`), 200);
  clock.setTimeout(() => fired.push(`a@${clock.now()}`), 100);
  clock.setTimeout(() => fired.push(`c@${clock.now()}`), 500);
  assert.equal(clock.now(), 1_000);
  clock.advance(250);
  assert.deepEqual(fired, ['a@1100', 'b@1200'], 'each timer sees the time it was due at');
  assert.equal(clock.now(), 1_250);
  assert.equal(clock.pendingTimers(), 1);
  clock.advance(250);
  assert.deepEqual(fired, ['a@1100', 'b@1200', 'c@1500']);
});

test('VirtualClock: a timer set by a timer fires within the same advance if it falls due', () => {
  const clock = new VirtualClock();
  const fired: number[] = [];
  const tick = (): void => {
    fired.push(clock.now());
    if (fired.length < 5) clock.setTimeout(tick, 10);
  };
  clock.setTimeout(tick, 10);
  clock.advance(35);
  assert.deepEqual(fired, [10, 20, 30]);
  clock.advance(100);
  assert.deepEqual(fired, [10, 20, 30, 40, 50]);
});

test('VirtualClock: cleared timers never fire; negative delays fire at once', () => {
  const clock = new VirtualClock();
  let fired = 0;
  const timer = clock.setTimeout(() => fired++, 10);
  clock.clearTimeout(timer);
  clock.setTimeout(() => fired++, -5);
  clock.advance(0);
  assert.equal(fired, 1);
  clock.advance(100);
  assert.equal(fired, 1);
});
