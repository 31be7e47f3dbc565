import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger, VirtualClock } from '@moodstream/core';
import { topicNames, type Alert, type ScoredPost } from '@moodstream/events';
import { trendsConfig } from '../src/config';
import { createMemoryTrendsStore } from '../src/memory-store';
import { createTrendsService } from '../src/service';
import { syntheticScoredPosts } from '../src/synthetic';
import { T0 } from './fixtures';
import { sharesWithScared } from './scenarios';

const logger = createLogger('test', { level: 'silent' });
const MINUTE = 60_000;
const CALM_MINUTES = 28;
const SPIKE_MINUTES = 4;
const SPIKE_FROM = T0 + CALM_MINUTES * MINUTE;

/** 28 calm minutes then a 4-minute "scared" spike on "storm watch" (40 posts/min), with "cats" (15/min) alongside. */
function stormStream(): ScoredPost[] {
  const durationMs = (CALM_MINUTES + SPIKE_MINUTES) * MINUTE;
  const calm = sharesWithScared(0.05);
  const spike = sharesWithScared(0.4);
  const storm = syntheticScoredPosts({ start: T0, durationMs, ratePerMinute: 40, topics: ['storm watch'], shares: (_, t) => (t >= SPIKE_FROM ? spike : calm), seed: 11, idPrefix: 'storm' });
  const cats = syntheticScoredPosts({ start: T0, durationMs, ratePerMinute: 15, topics: ['cats'], shares: () => calm, seed: 12, idPrefix: 'cats' });
  return [...storm, ...cats].sort((a, b) => a.timestamp - b.timestamp);
}

/** Runs the live service over the memory bus (3 partitions), producing the stream in the given chunks. */
async function alertsWhenProduced(chunks: ScoredPost[][]): Promise<Alert[]> {
  const bus = createMemoryBus({ defaultPartitions: 3 });
  const topics = topicNames(`burst${Math.random().toString(36).slice(2)}.`);
  // The clock never moves: only the posts' event time may close windows (no idle-watermark help).
  const clock = new VirtualClock(SPIKE_FROM + SPIKE_MINUTES * MINUTE);
  const service = createTrendsService({
    bus,
    store: createMemoryTrendsStore(),
    logger,
    clock,
    config: trendsConfig({ TRENDS_ALERT_SETTLE_MS: 0, TRENDS_ALERT_WARMUP_WINDOWS: 5, TRENDS_SERIES_PUSH_MS: 0 }),
    topics,
    groupId: 'burst',
  });
  const alerts: Alert[] = [];
  service.on('alert', (alert) => alerts.push(alert));
  await service.start();
  const producer = await bus.producer();
  try {
    for (const chunk of chunks) {
      await producer.send(topics.scored, 'ScoredPost', chunk.map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp })));
      const deadline = Date.now() + 20_000;
      while ((await service.consumerLag()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.equal(await service.consumerLag(), 0, 'the consumer did not catch up');
    }
  } finally {
    await producer.close();
    await service.stop();
    await bus.close();
  }
  return alerts;
}

const describeAlerts = (alerts: Alert[]): string[] => alerts.map((a) => `${a.topic}/${a.emotion}@${new Date(a.window.start).toISOString()}`);

describe('live watermark over partitions', () => {
  const stream = stormStream();
  // K = 2 consecutive significant windows: the alert is on the spike's second minute.
  const expected = [`storm watch/scared@${new Date(SPIKE_FROM + MINUTE).toISOString()}`];

  it('fires the planted alert when posts are produced minute by minute', async () => {
    const minutes = new Map<number, ScoredPost[]>();
    for (const post of stream) {
      const minute = Math.floor(post.timestamp / MINUTE);
      minutes.set(minute, [...(minutes.get(minute) ?? []), post]);
    }
    assert.deepEqual(describeAlerts(await alertsWhenProduced([...minutes.values()])), expected);
  });

  it('fires the same alert when history and spike are produced in one burst', async () => {
    assert.deepEqual(describeAlerts(await alertsWhenProduced([stream])), expected);
  });
});
