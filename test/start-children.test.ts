import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { restartDelayMs, startChildren, type RestartPolicy } from '../scripts/start/children';
import { gaveUpMessage } from '../scripts/start/distributed';
import { REPO_ROOT } from '../scripts/start/paths';

/**
 * The distributed launcher's supervisor with real child processes (tiny node scripts): a crash is restarted after a
 * backoff with one line saying so, a child that keeps crashing is given up on (and the launcher's last line says
 * what happened and what to do), a clean exit is not restarted, and stop() during a backoff restarts nothing.
 */
const dir = mkdtempSync(join(tmpdir(), 'children-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const quick: RestartPolicy = { maxRestarts: 2, windowMs: 60_000, initialDelayMs: 50, maxDelayMs: 200 };

describe('startChildren: the supervisor', () => {
  it('doubles the backoff per crash within the window, capped', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map((n) => restartDelayMs(quick, n)), [50, 100, 200, 200, 200]);
  });

  it('restarts a crashing child with a line each time, then gives up and says so', { timeout: 60_000 }, async () => {
    const counter = join(dir, 'starts');
    const script = `require('node:fs').appendFileSync(${JSON.stringify(counter)}, 'x'); process.exit(3)`;
    const lines: string[] = [];
    const children = startChildren([{ name: 'crasher', args: ['-e', script] }], { cwd: REPO_ROOT, write: (line) => lines.push(line), restart: quick });
    const exit = await children.exited;
    assert.ok(exit !== null);
    assert.equal(exit.name, 'crasher');
    assert.equal(exit.code, 3);
    assert.equal(exit.crashes, 3, 'two restarts allowed, the third crash gives up');
    assert.equal(readFileSync(counter, 'utf8').length, 3, 'started once and restarted twice');
    assert.equal(children.restarts('crasher'), 2);
    const restartLines = lines.filter((l) => /restarting it in/.test(l));
    assert.equal(restartLines.length, 2);
    assert.match(restartLines[0] ?? '', /^crasher \| exited with code 3; restarting it in 0\.1s \(restart 1; crash 1 of at most 3 within 60s\)$/);
    assert.match(lines.at(-1) ?? '', /crashed 3 times within 60s, not restarting it again/);
    const message = gaveUpMessage(exit);
    assert.match(message, /crasher kept crashing \(3 times/);
    assert.match(message, /every process is being stopped/);
    assert.match(message, /npm run services:status/);
    assert.match(message, /npm start/);
  });

  it('restarts a child killed with SIGKILL, which then keeps running', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const children = startChildren([{ name: 'app', args: ['-e', 'setInterval(() => {}, 1000)'] }], { cwd: REPO_ROOT, write: (line) => lines.push(line), restart: quick });
    const first = children.process('app');
    assert.ok(first !== null);
    first.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while ((children.process('app') === null || children.process('app') === first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.notEqual(children.process('app'), null);
    assert.notEqual(children.process('app'), first);
    assert.ok(lines.some((l) => /^app \| exited with SIGKILL; restarting it in/.test(l)), lines.join('\n'));
    await children.stop(5_000);
    assert.equal(await children.exited, null, 'a stop is not a crash');
  });

  it('does not restart a child that exits 0, nor one that crashes while stopping', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const done = startChildren([{ name: 'finite', args: ['-e', 'process.exit(0)'] }], { cwd: REPO_ROOT, write: (line) => lines.push(line), restart: quick });
    assert.equal(await done.exited, null);
    assert.equal(done.restarts('finite'), 0);

    const slow: RestartPolicy = { ...quick, initialDelayMs: 10_000, maxDelayMs: 10_000 };
    const crashing = startChildren([{ name: 'c', args: ['-e', 'process.exit(1)'] }], { cwd: REPO_ROOT, write: (line) => lines.push(line), restart: slow });
    const deadline = Date.now() + 20_000;
    while (!lines.some((l) => l.startsWith('c | exited with code 1; restarting')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    await crashing.stop(1_000);
    assert.equal(await crashing.exited, null);
    assert.ok(Date.now() - started < 5_000, 'stop does not wait out the backoff');
    assert.equal(crashing.restarts('c'), 0);
  });
});
