import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger } from '@moodstream/core';
import { ApiErrorSchema, ModelVersionsResponseSchema, topicNames, type ModelVersionChange } from '@moodstream/events';
import { trendsConfig } from '../src/config';
import { createTrendsHttpHandler } from '../src/http';
import { createMemoryTrendsStore } from '../src/memory-store';
import { createMemoryModelVersionStore, type ModelVersionStore } from '../src/model-version-store';
import { createModelVersionTracker } from '../src/model-version-tracker';
import { createTrendsService } from '../src/service';
import { scoredPost, T0 } from './fixtures';
import { modelVersionStoreContract } from './model-version-contract';

const logger = createLogger('test', { level: 'silent' });

describe('model version store (memory)', () => {
  const shared = createMemoryModelVersionStore();
  modelVersionStoreContract(() => shared, T0);
});

/** A memory store that counts its record calls and can be made to fail. */
function spiedStore(): { store: ModelVersionStore; calls: number[]; fail: { next: boolean } } {
  const inner = createMemoryModelVersionStore();
  const calls: number[] = [];
  const fail = { next: false };
  return {
    calls,
    fail,
    store: {
      record(sightings) {
        calls.push(sightings.length);
        if (fail.next) {
          fail.next = false;
          return Promise.reject(new Error('redis is down'));
        }
        return inner.record(sightings);
      },
      list: (q) => inner.list(q),
    },
  };
}

describe('model version tracker', () => {
  it('announces a new version once per topic, at the earliest event time of its first batch, with the version before it', async () => {
    const { store, calls } = spiedStore();
    const changes: ModelVersionChange[] = [];
    const tracker = createModelVersionTracker(store, { logger, onChange: (c) => changes.push(c) });
    await tracker.observe([scoredPost({ postId: 'a', timestamp: T0, modelVersion: 'v1' }), scoredPost({ postId: 'b', timestamp: T0 + 1_000, modelVersion: 'v1', topics: ['dogs'] })]);
    assert.deepEqual(
      changes.map((c) => [c.topic, c.version, c.previous]),
      [
        ['cats', 'v1', null],
        ['all', 'v1', null],
        ['dogs', 'v1', null],
      ],
    );
    changes.length = 0;
    // A later batch of the old version asks nothing of the store: the pairs are known.
    await tracker.observe([scoredPost({ postId: 'c', timestamp: T0 + 2_000, modelVersion: 'v1' })]);
    assert.deepEqual(calls, [3]);
    // Partitions switch one by one: the batch mixes old and new; the new version's time is its earliest post's.
    await tracker.observe([
      scoredPost({ postId: 'd', timestamp: T0 + 65_000, modelVersion: 'v2' }),
      scoredPost({ postId: 'e', timestamp: T0 + 64_000, modelVersion: 'v1' }),
      scoredPost({ postId: 'f', timestamp: T0 + 61_000, modelVersion: 'v2' }),
    ]);
    assert.deepEqual(changes, [
      { topic: 'cats', version: 'v2', at: T0 + 61_000, previous: 'v1' },
      { topic: 'all', version: 'v2', at: T0 + 61_000, previous: 'v1' },
    ]);
    assert.deepEqual(calls, [3, 2]);
    assert.deepEqual((await tracker.list({ topic: 'all' }, T0 + 120_000)).map((c) => c.version), ['v1', 'v2'], 'default range: the week before now + 1 day');
  });

  it('a store failure holds nothing up and the pair is asked again with the next batch', async () => {
    const { store, calls, fail } = spiedStore();
    const changes: ModelVersionChange[] = [];
    const tracker = createModelVersionTracker(store, { logger, onChange: (c) => changes.push(c) });
    fail.next = true;
    await tracker.observe([scoredPost({ postId: 'a', timestamp: T0, modelVersion: 'v1' })]);
    // Not deepEqual(changes, []): as an assertion function it would narrow `changes` to never[] for the lines below.
    assert.equal(changes.length, 0);
    await tracker.observe([scoredPost({ postId: 'b', timestamp: T0 + 5_000, modelVersion: 'v1' })]);
    assert.deepEqual(calls, [2, 2]);
    assert.deepEqual(
      changes.map((c) => [c.topic, c.at]),
      [
        ['cats', T0 + 5_000],
        ['all', T0 + 5_000],
      ],
    );
  });
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('model versions through the trends service and GET /api/model-versions', () => {
  it('emits `modelVersion` when the live posts switch model and serves the topic\'s changes', async () => {
    const service = createTrendsService({
      bus: createMemoryBus(),
      store: createMemoryTrendsStore(),
      logger,
      config: trendsConfig({ TRENDS_ALLOWED_LATENESS_MS: String(86_400_000 * 365 * 10) }),
      topics: topicNames(),
      groupId: 'model-versions-test',
      consume: false,
    });
    const pushed: ModelVersionChange[] = [];
    service.on('modelVersion', (c) => pushed.push(c));
    await service.start();
    const server = createServer((req, res) => void createTrendsHttpHandler(service, { logger })(req, res));
    const api = await listen(server);
    try {
      await service.ingest([scoredPost({ postId: 'p1', timestamp: T0, modelVersion: 'ds-old' }), scoredPost({ postId: 'p2', timestamp: T0 + 30_000, modelVersion: 'ds-old' })]);
      await service.ingest([scoredPost({ postId: 'p3', timestamp: T0 + 120_000, modelVersion: 'ds-new' })]);
      assert.deepEqual(
        pushed.filter((c) => c.previous !== null),
        [
          { topic: 'cats', version: 'ds-new', at: T0 + 120_000, previous: 'ds-old' },
          { topic: 'all', version: 'ds-new', at: T0 + 120_000, previous: 'ds-old' },
        ],
      );
      const res = await fetch(`${api}/api/model-versions?topic=cats&from=${T0}&to=${T0 + 3_600_000}`);
      assert.equal(res.status, 200);
      const body = ModelVersionsResponseSchema.parse(await res.json());
      assert.deepEqual(
        body.changes.map((c) => [c.version, c.previous, c.at]),
        [
          ['ds-old', null, T0],
          ['ds-new', 'ds-old', T0 + 120_000],
        ],
      );
      const narrow = ModelVersionsResponseSchema.parse(await (await fetch(`${api}/api/model-versions?topic=cats&from=${T0 + 60_000}&to=${T0 + 3_600_000}`)).json());
      assert.deepEqual(narrow.changes.map((c) => c.version), ['ds-new']);
      const bad = await fetch(`${api}/api/model-versions?from=${T0}`);
      assert.equal(bad.status, 400);
      assert.match(ApiErrorSchema.parse(await bad.json()).error.message, /topic/);
    } finally {
      await service.stop();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
