import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger, createServiceRuntime, VirtualClock } from '@moodstream/core';
import { TOPICS, type PostInput } from '@moodstream/events';
import { createScorerApp, loadModels, type LoadedModels } from '../src/index';
import type { InferenceEngine, InferenceResult } from '../src/inference/inference-engine';
import { InferenceWorkerError } from '../src/inference/worker-pool-engine';
import { createTestScorer, readScored, testScorerConfig, waitFor } from './testing';

const logger = createLogger('scorer-app-test', { level: 'warn' });
let models: LoadedModels;

before(async () => {
  // The real model on this thread (the shipped models/default unless SCORER_MODEL_DIR names another).
  models = await loadModels(process.env['SCORER_MODEL_DIR'] ?? '');
});
after(() => {
  models.scorer.dispose();
});

function post(i: number, text = `lovely day number ${i}`): PostInput {
  const now = Date.now();
  return {
    id: `app-${i}`,
    blog: 'someone',
    url: `https://someone.tumblr.com/post/${i}`,
    timestamp: now,
    topics: ['weather'],
    text,
    imageUrl: null,
    source: 'live',
    label: null,
    ingestedAt: now,
  };
}

/** On this thread, so the tests share the model loaded once above. */
const config = (overrides: Record<string, string> = {}) => testScorerConfig({ SCORER_WORKERS: '0', ...overrides });

test('scores every post once, sends a malformed record to the dead-letter topic, and reports it', async () => {
  const bus = createMemoryBus({ logger });
  const scorer = createTestScorer({ config: config({ SCORER_BATCH_MAX_AGE_MS: '5' }), bus, logger, model: models });
  const { app } = scorer;
  const reader = await readScored(bus);
  await app.start();
  const producer = await bus.producer();
  await producer.send(TOPICS.posts, 'Post', Array.from({ length: 50 }, (_, i) => ({ key: `app-${i}`, value: post(i) })));
  await producer.sendRaw(TOPICS.posts, [{ key: 'bad', value: '{"id":' }]);
  await waitFor('50 scored posts and one dead letter', () => reader.count() >= 50 && app.stats().deadLetters === 1, { timeoutMs: 30_000, scorer });
  assert.equal(reader.count(), 50, 'one ScoredPost per post');
  assert.deepEqual(
    [...reader.byId.keys()].sort(),
    Array.from({ length: 50 }, (_, i) => `app-${i}`).sort(),
  );
  const scored = [...reader.byId.values()].flat();
  assert.ok(scored.every((s) => s.modality === 'text' && s.modelVersion === models.scorer.modelVersion));
  assert.equal(app.stats().healthy, true);
  assert.deepEqual(app.health(), { ok: true, detail: app.stats() });
  await app.stop();
  assert.equal(app.stats().healthy, false);
  assert.equal(app.health().ok, false);
  await reader.stop();
  await producer.close();
  await bus.close();
});

test('stop() flushes a batch still waiting for its age, produces it and commits before returning', async () => {
  // One partition: all five posts reach the handler in one call.
  const bus = createMemoryBus({ logger, defaultPartitions: 1 });
  // An age limit of a minute: only the shutdown path can flush these posts in time.
  const scorer = createTestScorer({ config: config({ SCORER_BATCH_MAX_AGE_MS: '60000', SCORER_BATCH_SIZE: '64' }), bus, logger, model: models });
  const { app } = scorer;
  const reader = await readScored(bus);
  await app.start();
  const producer = await bus.producer();
  await producer.send(TOPICS.posts, 'Post', Array.from({ length: 5 }, (_, i) => ({ key: `app-${i}`, value: post(i) })));
  await waitFor('the posts to wait in the micro-batcher', () => app.stats().waiting === 5, { timeoutMs: 30_000, scorer });
  assert.equal(reader.count(), 0);
  const started = Date.now();
  await app.stop();
  assert.ok(Date.now() - started < 10_000, 'stop does not wait for the age limit');
  await waitFor('the flushed posts to be read back', () => reader.count() === 5, { timeoutMs: 30_000 });

  // A successor in the same group finds nothing left: the offsets were committed.
  const successor = createTestScorer({ config: config({ SCORER_BATCH_MAX_AGE_MS: '5' }), bus, logger, model: models }).app;
  await successor.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(successor.stats().received, 0);
  await successor.stop();
  assert.equal(reader.count(), 5);
  await reader.stop();
  await producer.close();
  await bus.close();
});

test('does no I/O before start(): building the app needs neither a model nor a broker', async () => {
  const bus = createMemoryBus({ logger });
  const { app, registry } = createTestScorer({ config: config({ SCORER_MODEL_DIR: '/nonexistent' }), bus, logger });
  assert.equal(app.stats().engine, null);
  const metrics = await registry.metrics();
  assert.match(metrics, /moodstream_scorer_batch_size/);
  assert.match(metrics, /moodstream_scorer_posts_per_second\{service="scorer"\} 0/, 'series carry the process as their service label');
  await assert.rejects(app.start(), /nonexistent/);
  await bus.close();
});

/** Stands in for an inference thread that died: every batch fails with a non-retriable error. */
class DeadThreadEngine implements InferenceEngine {
  readonly info = { backend: 'test', modelVersion: 'test-1', backboneId: 'test', inputSize: 16, workers: 1 };
  constructor(private readonly closed: string[]) {}
  run(): Promise<InferenceResult> {
    return Promise.reject(new InferenceWorkerError('inference thread exited with code 1'));
  }
  async tensorCounts(): Promise<number[]> {
    return [0];
  }
  async close(): Promise<void> {
    this.closed.push('inference engine');
  }
}

test('when its consumer dies the scorer calls onFatal: the runtime closes the scorer, then the bus, and exits 1', async () => {
  const clock = new VirtualClock();
  const quiet = createLogger('scorer-crash-test', { level: 'silent' });
  const bus = createMemoryBus({ logger: quiet });
  const exits: number[] = [];
  const closed: string[] = [];
  const runtime = createServiceRuntime({ name: 'scorer', logger: quiet, clock, exit: (code) => exits.push(code) });
  runtime.onClose('bus', async () => {
    closed.push('bus');
    await bus.close();
  });
  const app = createScorerApp({
    config: config({ SCORER_BATCH_MAX_AGE_MS: '0' }),
    bus,
    logger: quiet,
    clock,
    registry: runtime.registry,
    onFatal: runtime.crash('scorer'),
    engine: new DeadThreadEngine(closed),
  });
  // runtime.health() is typed as the loose /healthz body (HealthReport); its parts are the runtime's PartState.
  const partState = (name: string): string | undefined => (runtime.health()['parts'] as Record<string, { state: string }>)[name]?.state;
  await runtime.start('scorer', app);
  assert.equal(runtime.health().ok, true);
  assert.equal(partState('scorer'), 'running');

  const producer = await bus.producer();
  await producer.send(TOPICS.posts, 'Post', [{ key: 'doomed', value: post(1) }]);
  await producer.close();
  await waitFor('the process to exit', () => exits.length > 0, { timeoutMs: 10_000 });

  assert.deepEqual(exits, [1], 'a dead part exits non-zero, once');
  assert.deepEqual(closed, ['inference engine', 'bus'], 'the scorer closed (releasing its engine) before the bus it used');
  assert.equal(runtime.health().ok, false);
  assert.equal(partState('scorer'), 'failed');
  assert.equal(partState('bus'), 'stopped');
  assert.equal(app.stats().healthy, false);
  assert.match(await runtime.registry.metrics(), /moodstream_service_part_up\{[^}]*part="scorer"[^}]*\} 0/);
});
