import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { VirtualClock, createLogger, createMetricsRegistry, createServiceRuntime, type ServicePart } from '../src/index';

const quiet = createLogger('t', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function harness(deadlineMs = 1_000) {
  const exits: number[] = [];
  const events: string[] = [];
  const clock = new VirtualClock(0);
  const runtime = createServiceRuntime({ name: 'unit', logger: quiet, clock, deadlineMs, registry: createMetricsRegistry('unit', { defaultMetrics: false }), exit: (code) => exits.push(code) });
  const part = (name: string, overrides: Partial<ServicePart> = {}): ServicePart => ({
    start: async () => void events.push(`start ${name}`),
    stop: async () => void events.push(`stop ${name}`),
    ...overrides,
  });
  return { runtime, exits, events, clock, part };
}

test('parts close in reverse order of start, plain resources included, and health reports each state', async () => {
  const { runtime, events, part } = harness();
  runtime.onClose('bus', () => void events.push('close bus'));
  await runtime.start('consumer', part('consumer', { health: () => ({ ok: true, detail: { lag: 0 } }) }));
  await runtime.start('web', part('web'));
  const healthy = runtime.health();
  assert.equal(healthy.ok, true);
  assert.deepEqual(healthy.parts, { bus: { state: 'running', ok: true }, consumer: { state: 'running', ok: true, detail: { lag: 0 } }, web: { state: 'running', ok: true } });
  assert.equal(await runtime.close(), 0);
  assert.deepEqual(events, ['start consumer', 'start web', 'stop web', 'stop consumer', 'close bus']);
  assert.equal(runtime.health().ok, false, 'a closed service is not healthy');
  assert.equal(runtime.signal.aborted, true, 'long waits see the close through the signal');
  assert.equal(await runtime.close(), 0, 'closing twice closes once');
  assert.equal(events.length, 5);
});

test('crash policy: a part that dies closes every other part gracefully, then the process exits 1', async () => {
  const { runtime, events, exits, part } = harness();
  runtime.onClose('bus', () => void events.push('close bus'));
  await runtime.start('scorer', part('scorer'));
  await runtime.start('web', part('web'));
  runtime.crash('scorer')(new Error('consumer died'));
  runtime.crash('scorer')(new Error('and again'));
  await flush();
  await flush();
  assert.deepEqual(exits, [1], 'exits once, non-zero');
  assert.deepEqual(events.slice(2), ['stop web', 'stop scorer', 'close bus'], 'the others closed in order; the dead part is still asked to release what it holds');
  const scorer = runtime.health().parts['scorer'];
  assert.equal(scorer?.state, 'failed');
  assert.equal(scorer?.error, 'consumer died');
});

test('a part whose health says not ok makes the service unhealthy, and the part gauge says which', async () => {
  const { runtime, part } = harness();
  let ok = true;
  await runtime.start('consumer', part('consumer', { health: () => ({ ok }) }));
  assert.equal(runtime.health().ok, true);
  ok = false;
  assert.equal(runtime.health().ok, false);
  assert.match(await runtime.registry.metrics(), /moodstream_service_part_up\{part="consumer",service="unit"\} 0/);
});

test('a close that fails is logged, the rest still close, and the exit code is 1', async () => {
  const { runtime, events, part } = harness();
  await runtime.start('a', part('a'));
  await runtime.start('b', part('b', { stop: async () => Promise.reject(new Error('stuck')) }));
  assert.equal(await runtime.close(), 1);
  assert.deepEqual(events, ['start a', 'start b', 'stop a']);
});

test('a close that hangs past the deadline exits 1 on the clock', async () => {
  const { runtime, exits, clock, part } = harness(500);
  await runtime.start('hung', part('hung', { stop: () => new Promise<void>(() => undefined) }));
  void runtime.close();
  await flush();
  clock.advance(499);
  assert.deepEqual(exits, []);
  clock.advance(1);
  assert.deepEqual(exits, [1]);
});

test('a part that fails to start is reported failed; finish() ends a finite run with exit 0', async () => {
  const { runtime, exits, events, part } = harness();
  await runtime.start('ok', part('ok'));
  await assert.rejects(runtime.start('broken', part('broken', { start: async () => Promise.reject(new Error('no model')) })), /no model/);
  assert.equal(runtime.health().parts['broken']?.state, 'failed');
  await runtime.finish();
  assert.deepEqual(exits, [0]);
  assert.ok(events.includes('stop ok'));
});

test('first signal closes gracefully and exits 0; a second exits 1 at once', async () => {
  const { runtime, exits, part } = harness();
  let release: () => void = () => undefined;
  await runtime.start('slow', part('slow', { stop: () => new Promise<void>((resolve) => (release = resolve)) }));
  // SIGUSR2 is raised with process.emit, so no real signal is sent and no other listener runs.
  const uninstall = runtime.installSignals(['SIGUSR2']);
  try {
    process.emit('SIGUSR2', 'SIGUSR2');
    await flush();
    assert.deepEqual(exits, [], 'still closing');
    process.emit('SIGUSR2', 'SIGUSR2');
    assert.deepEqual(exits, [1], 'the operator asked twice');
    release();
  } finally {
    uninstall();
  }
  const second = harness();
  await second.runtime.start('quick', second.part('quick'));
  const uninstallSecond = second.runtime.installSignals(['SIGUSR2']);
  try {
    process.emit('SIGUSR2', 'SIGUSR2');
    for (let i = 0; i < 5 && second.exits.length === 0; i++) await flush();
    assert.deepEqual(second.exits, [0]);
  } finally {
    uninstallSecond();
  }
});
