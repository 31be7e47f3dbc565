import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger } from '@moodstream/core';
import { topicNames } from '@moodstream/events';
import { trendsConfig } from '../src/config';
import { createMemoryTrendsStore } from '../src/memory-store';
import { createTrendsService } from '../src/service';
import { scoredPost } from './fixtures';

const logger = createLogger('test', { level: 'silent' });

/**
 * The ingester refuses posts dated more than an hour ahead, but anything may produce onto the scored topic: a post
 * dated in two days would move the watermark there and every real post after it would be dropped as late.
 */
test('a ScoredPost dated far in the future is dead-lettered, not counted, and does not move the watermark', async () => {
  const topics = topicNames(`future${Date.now()}.`);
  const bus = createMemoryBus({ defaultPartitions: 1 });
  const deadLetters: string[] = [];
  const service = createTrendsService({
    bus,
    store: createMemoryTrendsStore(),
    logger,
    config: trendsConfig({ TRENDS_SERIES_PUSH_MS: 0 }),
    topics,
    groupId: 'future-test',
    metrics: { onDeadLetter: (reason) => deadLetters.push(reason) },
  });
  try {
    await bus.ensureTopics([{ name: topics.scored, partitions: 1 }]);
    await service.start();
    const now = Date.now();
    const producer = await bus.producer();
    const future = scoredPost({ postId: 'from-the-future', timestamp: now + 2 * 86_400_000, topics: ['weather'] });
    const real = scoredPost({ postId: 'real', timestamp: now - 5_000, topics: ['weather'] });
    await producer.send(topics.scored, 'ScoredPost', [future, real].map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp })));
    await producer.close();
    const deadline = Date.now() + 20_000;
    while ((await service.consumerLag()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await service.consumerLag(), 0, 'consumed');
    assert.equal(deadLetters.length, 1, `one dead letter: ${deadLetters.join(' | ')}`);
    assert.match(deadLetters[0]!, /future/);
    const watermark = service.watermark();
    assert.ok(watermark !== null && watermark < now + 3_600_000, `watermark stays near now, got ${watermark === null ? 'null' : new Date(watermark).toISOString()}`);
    const dead = [];
    for await (const batch of bus.readRawByTime!({ topic: topics.deadLetter, from: 0, to: Number.MAX_SAFE_INTEGER })) dead.push(...batch);
    assert.deepEqual(dead.map((r) => r.key), ['from-the-future']);
  } finally {
    await service.stop();
    await bus.close();
  }
});
