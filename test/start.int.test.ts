import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { spawnLauncher, type LauncherProcess } from '../scripts/start/launcher-process';

/**
 * `npm start` as a newcomer runs it: a child process on a free port, no Kafka or Redis (their variables
 * are removed from the inherited environment), the real model and web build.
 */

const launched: LauncherProcess[] = [];
const launch = (options: Parameters<typeof spawnLauncher>[0]): LauncherProcess => {
  const run = spawnLauncher(options);
  launched.push(run);
  return run;
};
after(() => {
  for (const run of launched) if (run.child.exitCode === null) run.child.kill('SIGKILL');
});

describe('npm start', () => {
  it('prints the URL and serves /healthz within 60 s, then stops cleanly on Ctrl-C', async () => {
    const started = Date.now();
    const run = launch({ env: { PORT: '0' } });
    const [, url] = await run.waitFor(/dashboard live at (http:\/\/\S+)/, 60_000);
    const health = await fetch(new URL('/healthz', url));
    assert.equal(health.status, 200, await health.text());
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 60_000, `live after ${elapsed} ms`);
    assert.match(run.output(), /loading the emotion model/);
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0, run.output().slice(-2000));
    assert.match(run.output(), /stopped cleanly in/);
  });

  it('exits 1 with one readable line per bad variable', async () => {
    const run = launch({ env: { KAFKA_BROKERS: '127.0.0.1:9092', DEMO_SPEED: 'fast' } });
    assert.equal(await run.exit, 1);
    assert.match(run.output(), /npm start: invalid configuration/);
    assert.match(run.output(), /DEMO_SPEED: /);
    assert.match(run.output(), /REDIS_URL: set both KAFKA_BROKERS and REDIS_URL/);
    assert.doesNotMatch(run.output(), /\n\s+at /, 'no stack trace for a configuration error');
  });

  it('--help documents the options and exits 0; an unknown option exits 2', async () => {
    const help = launch({ args: ['--help'] });
    assert.equal(await help.exit, 0);
    assert.match(help.output(), /--demo-images DIR/);
    assert.match(help.output(), /KAFKA_BROKERS, REDIS_URL/);
    const wrong = launch({ args: ['--demo-imagez', 'x'] });
    assert.equal(await wrong.exit, 2);
    assert.match(wrong.output(), /--demo-imagez.*\n.*--help/s);
  });
});
