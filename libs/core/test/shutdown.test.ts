import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, installShutdown } from '../src/index';

const quiet = createLogger('t', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
// A signal nobody else listens to, raised with process.emit so no real signal is sent.
const SIGNAL: NodeJS.Signals = 'SIGUSR2';

function waitForExit(exits: number[], count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (exits.length >= count) resolve();
      else setTimeout(check, 2);
    };
    check();
  });
}

test('first signal closes gracefully and exits 0', async () => {
  const exits: number[] = [];
  let closed = 0;
  const uninstall = installShutdown(async () => void closed++, { logger: quiet, signals: [SIGNAL], exit: (c) => exits.push(c), deadlineMs: 1_000 });
  process.emit(SIGNAL, SIGNAL);
  await waitForExit(exits, 1);
  uninstall();
  assert.equal(closed, 1);
  assert.deepEqual(exits, [0]);
});

test('a second signal exits 1 at once, while the first close is still running', async () => {
  const exits: number[] = [];
  let finishClose: () => void = () => undefined;
  const uninstall = installShutdown(() => new Promise<void>((resolve) => (finishClose = resolve)), {
    logger: quiet,
    signals: [SIGNAL],
    exit: (c) => exits.push(c),
    deadlineMs: 5_000,
  });
  process.emit(SIGNAL, SIGNAL);
  process.emit(SIGNAL, SIGNAL);
  assert.deepEqual(exits, [1]);
  finishClose();
  await waitForExit(exits, 2);
  uninstall();
});

test('a close that outlives the deadline exits 1', async () => {
  const exits: number[] = [];
  const uninstall = installShutdown(() => new Promise<void>(() => undefined), {
    logger: quiet,
    signals: [SIGNAL],
    exit: (c) => exits.push(c),
    deadlineMs: 20,
  });
  process.emit(SIGNAL, SIGNAL);
  await waitForExit(exits, 1);
  uninstall();
  assert.deepEqual(exits, [1]);
});

test('a close that fails exits 1, never 0', async () => {
  const exits: number[] = [];
  const uninstall = installShutdown(async () => Promise.reject(new Error('flush failed')), {
    logger: quiet,
    signals: [SIGNAL],
    exit: (c) => exits.push(c),
  });
  process.emit(SIGNAL, SIGNAL);
  await waitForExit(exits, 1);
  uninstall();
  assert.deepEqual(exits, [1]);
});

test('uninstall removes the handlers', () => {
  const before = process.listenerCount(SIGNAL);
  const uninstall = installShutdown(async () => undefined, { logger: quiet, signals: [SIGNAL], exit: () => undefined });
  assert.equal(process.listenerCount(SIGNAL), before + 1);
  uninstall();
  assert.equal(process.listenerCount(SIGNAL), before);
});
