import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger, parseConfig } from '@moodstream/core';
import { TOPICS, type PostInput, type ScoredPost } from '@moodstream/events';
import { createScorerApp, loadModels, ScorerConfigSchema, type LoadedModels } from '../src/index';

// The real model on this thread (the shipped models/default unless SCORER_MODEL_DIR names another).
const MODEL_DIR = process.env['SCORER_MODEL_DIR'] ?? '';
const logger = createLogger('scorer-app-test', { level: 'warn' });
let models: LoadedModels;

before(async () => {
  models = await loadModels(MODEL_DIR);
});
after(() => {
  models.emotion.dispose();
  models.backbone.dispose();
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

function config(overrides: Record<string, string> = {}) {
  return parseConfig(ScorerConfigSchema, { SCORER_WORKERS: '0', SCORER_MODEL_DIR: MODEL_DIR, ...overrides });
}

async function collectScored(bus: ReturnType<typeof createMemoryBus>) {
  const scored: ScoredPost[] = [];
  const reader = bus.consumer({
    groupId: 'reader',
    topics: [TOPICS.scored],
    eventType: 'ScoredPost',
    deadLetterTopic: TOPICS.deadLetter,
    fromBeginning: true,
    handler: async (records) => {
      scored.push(...records.map((r) => r.value));
    },
  });
  await reader.start();
  return { scored, reader };
}

const until = async (condition: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

test('scores every post once, sends a malformed record to the dead-letter topic, and reports it', async () => {
  const bus = createMemoryBus({ logger });
  const app = createScorerApp({ config: config({ SCORER_BATCH_MAX_AGE_MS: '5' }), bus, logger, model: models });
  const { scored, reader } = await collectScored(bus);
  await app.start();
  const producer = await bus.producer();
  await producer.send(TOPICS.posts, 'Post', Array.from({ length: 50 }, (_, i) => ({ key: `app-${i}`, value: post(i) })));
  await producer.sendRaw(TOPICS.posts, [{ key: 'bad', value: '{"id":' }]);
  await until(() => scored.length >= 50 && app.stats().deadLetters === 1, '50 scored posts and one dead letter');
  assert.deepEqual(
    scored.map((s) => s.postId).sort(),
    Array.from({ length: 50 }, (_, i) => `app-${i}`).sort(),
  );
  assert.ok(scored.every((s) => s.modality === 'text' && s.modelVersion === models.emotion.version));
  assert.equal(app.stats().healthy, true);
  await app.stop();
  assert.equal(app.stats().healthy, false);
  await reader.stop();
  await producer.close();
  await bus.close();
});

test('stop() flushes a batch still waiting for its age, produces it and commits before returning', async () => {
  // One partition: all five posts reach the handler in one call.
  const bus = createMemoryBus({ logger, defaultPartitions: 1 });
  // An age limit of a minute: only the shutdown path can flush these posts in time.
  const app = createScorerApp({ config: config({ SCORER_BATCH_MAX_AGE_MS: '60000', SCORER_BATCH_SIZE: '64' }), bus, logger, model: models });
  const { scored, reader } = await collectScored(bus);
  await app.start();
  const producer = await bus.producer();
  await producer.send(TOPICS.posts, 'Post', Array.from({ length: 5 }, (_, i) => ({ key: `app-${i}`, value: post(i) })));
  await until(() => app.stats().waiting === 5, 'the posts to wait in the micro-batcher');
  assert.equal(scored.length, 0);
  const started = Date.now();
  await app.stop();
  assert.ok(Date.now() - started < 10_000, 'stop does not wait for the age limit');
  await until(() => scored.length === 5, 'the flushed posts to be read back');

  // A successor in the same group finds nothing left: the offsets were committed.
  const successor = createScorerApp({ config: config({ SCORER_BATCH_MAX_AGE_MS: '5' }), bus, logger, model: models });
  await successor.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(successor.stats().received, 0);
  await successor.stop();
  assert.equal(scored.length, 5);
  await reader.stop();
  await producer.close();
  await bus.close();
});

test('does no I/O before start(): building the app needs neither a model nor a broker', async () => {
  const bus = createMemoryBus({ logger });
  const app = createScorerApp({ config: config({ SCORER_MODEL_DIR: '/nonexistent' }), bus, logger });
  assert.equal(app.stats().engine, null);
  assert.match(await app.registry.metrics(), /moodstream_scorer_batch_size/);
  await assert.rejects(app.start(), /nonexistent/);
  await bus.close();
});
