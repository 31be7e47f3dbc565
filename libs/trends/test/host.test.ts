import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger, createMetricsRegistry, createServiceRuntime, MoodstreamError, VirtualClock } from '@moodstream/core';
import { topicNames } from '@moodstream/events';
import { trendsConfig } from '../src/config';
import { createTrendsHost } from '../src/host';
import { createMemoryTrendsStore } from '../src/memory-store';
import { standaloneConfigSchema } from '../src/standalone';
import type { TrendsStore } from '../src/store';
import { scoredPost, T0 } from './fixtures';

const logger = createLogger('test', { level: 'silent' });
// No confusion file: the host warns and runs with corrected shares null.
const config = trendsConfig({ TRENDS_CONFUSION_PATH: '/nonexistent/confusion.json' });

/** A store whose writes fail for good: the live consumer's handler throws a non-retriable error and the consumer stops. */
function brokenStore(): TrendsStore {
  const store = createMemoryTrendsStore();
  return { ...store, apply: () => Promise.reject(new MoodstreamError('INTERNAL', 'the disk is on fire')) };
}

async function produceOne(bus: ReturnType<typeof createMemoryBus>, topic: string): Promise<void> {
  const producer = await bus.producer();
  const post = scoredPost({ postId: 'p1', timestamp: T0 });
  await producer.send(topic, 'ScoredPost', [{ key: post.postId, value: post, timestamp: post.timestamp }]);
  await producer.close();
}

describe('createTrendsHost', () => {
  it('registers the moodstream_trends_* metrics in the host registry, whichever process it is', async () => {
    for (const service of ['aggregator', 'dashboard']) {
      const registry = createMetricsRegistry(service, { defaultMetrics: false });
      const bus = createMemoryBus({ logger });
      await createTrendsHost({ bus, store: createMemoryTrendsStore(), config, logger, registry, clock: new VirtualClock(T0), onFatal: () => assert.fail('no crash expected') });
      const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name).sort();
      assert.deepEqual(names, [
        'moodstream_trends_alerts_total',
        'moodstream_trends_batch_seconds',
        'moodstream_trends_consumer_lag',
        'moodstream_trends_dead_letters_total',
        'moodstream_trends_events_total',
        'moodstream_trends_watermark_seconds',
        'moodstream_trends_webhook_total',
      ]);
      await bus.close();
    }
  });

  it('hands a crash of the live consumer to onFatal, once, and reports it in health()', async () => {
    const bus = createMemoryBus({ logger });
    const topics = topicNames(`host${Math.random().toString(36).slice(2)}.`);
    const fatal: unknown[] = [];
    let crashed: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => {
      crashed = resolve;
    });
    const service = await createTrendsHost({
      bus,
      store: brokenStore(),
      config,
      logger,
      registry: createMetricsRegistry('test', { defaultMetrics: false }),
      topics,
      groupId: 'host-crash',
      clock: new VirtualClock(T0),
      onFatal: (error) => {
        fatal.push(error);
        crashed();
      },
    });
    await service.start();
    assert.equal(service.health().ok, true);
    await produceOne(bus, topics.scored);
    await reached;
    assert.equal(fatal.length, 1);
    assert.match((fatal[0] as Error).message, /disk is on fire/);
    assert.equal(service.health().ok, false);
    await service.stop();
    await bus.close();
  });

  it('under the service runtime, a consumer crash closes the process gracefully with exit code 1', async () => {
    const bus = createMemoryBus({ logger });
    const topics = topicNames(`host${Math.random().toString(36).slice(2)}.`);
    let exited: (code: number) => void = () => undefined;
    const exitCode = new Promise<number>((resolve) => {
      exited = resolve;
    });
    const runtime = createServiceRuntime({ name: 'aggregator', logger, registry: createMetricsRegistry('aggregator', { defaultMetrics: false }), exit: (code) => exited(code) });
    let busClosed = false;
    runtime.onClose('bus', async () => {
      await bus.close();
      busClosed = true;
    });
    await runtime.start(
      'trends',
      await createTrendsHost({ bus, store: brokenStore(), config, logger, registry: runtime.registry, topics, groupId: 'host-runtime', clock: new VirtualClock(T0), onFatal: runtime.crash('trends') }),
    );
    await produceOne(bus, topics.scored);
    assert.equal(await exitCode, 1);
    assert.ok(busClosed, 'the other parts were closed first');
    const health = runtime.health();
    assert.equal(health.ok, false);
    assert.equal((health['parts'] as Record<string, { state: string }>)['trends']?.state, 'failed');
  });

  it('the standalone aggregator serves its ops endpoint on 9466 by default (9464 is the ingester’s)', () => {
    const parsed = standaloneConfigSchema.parse({ KAFKA_BROKERS: '127.0.0.1:9092', REDIS_URL: 'redis://127.0.0.1:6379' });
    assert.equal(parsed.TRENDS_METRICS_PORT, 9466);
  });
});
