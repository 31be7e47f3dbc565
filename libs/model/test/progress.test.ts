import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { ProgressBar } from '../src/train/progress';

/** What a CI log receives: a stream that is not a terminal. */
function logStream(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let text = '';
  const writable = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  });
  // cli-progress only asks a stream for write(), isTTY and columns.
  const stream = Object.assign(writable, { isTTY: false, columns: 200 }) as unknown as NodeJS.WriteStream;
  return { stream, lines: () => text.split('\n').filter((line) => line.trim() !== '') };
}

test('without a terminal: whole lines every 10 %, each with count, rate, ETA and the caller info, and the bar stops itself at the total', () => {
  const { stream, lines } = logStream();
  const bar = new ProgressBar('epoch 1/3', 200, { stream, linePercent: 10 });
  for (let i = 1; i <= 200; i++) bar.tick(1, `loss ${(1 / i).toFixed(3)}`);
  const printed = lines();
  // The start line, one per 10 % up to 90 %, and the final line the bar draws when it stops at the total.
  assert.equal(printed.length, 11, printed.join('\n'));
  assert.match(printed[0]!, /^epoch 1\/3 \[\.{24}\] 0\/200 /);
  assert.match(printed[1]!, /^epoch 1\/3 \[#+\.+\] 20\/200 [\d.]+\/s elapsed \d+s ETA \d+s loss 0\.050$/);
  assert.match(printed.at(-1)!, /^epoch 1\/3 \[#{24}\] 200\/200 [\d.]+\/s elapsed \d+s ETA 0s loss 0\.005$/);
  assert.ok(printed.every((line) => !line.includes('\r') && !line.includes('\x1b')), 'no terminal control codes in a log');
});

test('stop() ends a step cut short (early stopping): a last line, then no more timed lines', async () => {
  const { stream, lines } = logStream();
  const bar = new ProgressBar('image fine-tune', 10, { stream, lineEveryMs: 20 });
  bar.tick(1, 'dev acc 0.4');
  bar.stop();
  bar.stop();
  const afterStop = lines().length;
  assert.match(lines().at(-1)!, /^image fine-tune \[.*\] 1\/10 .* dev acc 0\.4$/);
  // cli-progress times its lines with real timers; a bar left running would add one every 20 ms (and keep the process alive).
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(lines().length, afterStop);
});
