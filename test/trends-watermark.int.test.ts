/**
 * Windows close on time under sustained load, through the real broker (issue 11, item 3).
 *
 * 3 partitions of the scored topic; partitions A and B carry posts of "now" in event time, partition C carries posts
 * 2 minutes of event time older, and traffic never stops on any of them. Time-compressed so the test runs in about
 * a minute: event time runs 10× faster than the wall clock (one tick every 100 ms moves event time by 1 s), for
 * 5 event minutes of traffic on every partition plus the lagging partition's 2 minutes. Settle stays the default
 * 15 s of event time and the allowed lateness is shortened to 3 minutes (still above the 2-minute lag). The clock-
 * driven idle advance is pushed out of the way (24 h) so only the partitions' event time closes windows — the same
 * rule as in production: a window is evaluated once the watermark (the slowest partition's newest event time) passes
 * its end + settle.
 *
 * Measured per 1-minute window: the wall time from the moment the lagging partition's first record past end + settle
 * is acknowledged by the broker to the moment the service's watermark passes end + settle (the window is evaluated
 * in the same step). Acceptance: ≤ 10 s for every window, and no post counted late.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createKafkaBus } from '@moodstream/bus';
import { createLogger, splitList } from '@moodstream/core';
import { topicNames, type ScoredPost } from '@moodstream/events';
import { createMemoryTrendsStore, createTrendsService, syntheticScoredPosts, trendsConfig } from '@moodstream/trends';

const brokers = splitList(process.env['KAFKA_BROKERS']);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS must be set: run this through `npm test`, which starts Kafka');
const logger = createLogger('test', { level: 'silent' });
const MINUTE = 60_000;
const SPEED = 10;
const TICK_MS = 100;
const SETTLE_MS = 15_000;
const LAG_MS = 2 * MINUTE;
const TRAFFIC_MS = 5 * MINUTE;
/** Hour-aligned, 3 h back: the broker deletes records older than 24 h by their timestamps. */
const E0 = Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000;

describe('live watermark on real Kafka: 3 partitions, one lagging 2 minutes of event time, traffic never stops', () => {
  const suffix = randomBytes(5).toString('hex');
  const topics = topicNames(`test-watermark-${suffix}.`);
  const probeTopic = `test-watermark-${suffix}.probe`;
  const bus = createKafkaBus({ brokers, clientId: `watermark-test-${suffix}`, maxWaitTimeMs: 100 });
  after(async () => {
    await bus.deleteTopics([topics.scored, topics.alerts, topics.deadLetter, probeTopic]);
    // The broker may still be closing the group's session right after stop(): a leftover group is harmless.
    await bus.deleteGroups([`watermark-${suffix}`]).catch(() => undefined);
    await bus.close();
  });

  it('evaluates every 1-minute window within settle + 10 s after the slowest partition passes its end, counting no post late', async () => {
    await bus.ensureTopics([{ name: topics.scored, partitions: 3 }, { name: topics.alerts, partitions: 1 }, { name: topics.deadLetter, partitions: 1 }, { name: probeTopic, partitions: 3 }]);
    const producer = await bus.producer();
    // Which key lands on which partition: the partitioner depends on the key and the partition count only.
    await producer.sendRaw(probeTopic, Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: 'probe' })));
    const keyOf = new Map<number, string>();
    for await (const batch of bus.readRawByTime!({ topic: probeTopic, from: 0, to: Number.MAX_SAFE_INTEGER })) {
      for (const r of batch) if (!keyOf.has(r.partition) && r.key !== null) keyOf.set(r.partition, r.key);
    }
    assert.equal(keyOf.size, 3, 'a key for every partition');
    const keyFor = (partition: number): string => keyOf.get(partition) ?? assert.fail(`no key for partition ${partition}`);
    const [fastA, fastB, slow] = [keyFor(0), keyFor(1), keyFor(2)];

    const template = syntheticScoredPosts({ start: E0, durationMs: MINUTE, ratePerMinute: 60, topics: ['cats'], shares: () => [0.35, 0.2, 0.15, 0.15, 0.05, 0.1], seed: 5, idPrefix: 't' }).next().value as ScoredPost;
    let late = 0;
    let ingested = 0;
    const service = createTrendsService({
      bus,
      store: createMemoryTrendsStore(),
      logger,
      config: trendsConfig({ TRENDS_ALLOWED_LATENESS_MS: 3 * MINUTE, TRENDS_ALERT_SETTLE_MS: SETTLE_MS, TRENDS_IDLE_WATERMARK_LAG_MS: 24 * 3_600_000, TRENDS_SERIES_PUSH_MS: 0 }),
      topics,
      groupId: `watermark-${suffix}`,
      metrics: {
        onBatch: (result) => {
          late += result.late;
          ingested += result.accepted;
        },
      },
    });
    await service.start();

    // Window ends the lagging partition passes (plus settle) while traffic runs.
    const lastSlow = E0 + TRAFFIC_MS;
    const ends: number[] = [];
    for (let end = E0 - LAG_MS + MINUTE; end + SETTLE_MS <= lastSlow; end += MINUTE) ends.push(end);
    const passedAt = new Map<number, number>();
    const evaluatedAt = new Map<number, number>();
    const watch = setInterval(() => {
      const wm = service.watermark() ?? -Infinity;
      for (const end of ends) if (!evaluatedAt.has(end) && wm >= end + SETTLE_MS) evaluatedAt.set(end, Date.now());
    }, 20);

    let n = 0;
    const post = (timestamp: number): ScoredPost => ({ ...template, postId: `w${suffix}-${n++}`, timestamp });
    const began = Date.now();
    // A steady stream on the fast partitions, sent apart from the ticks, keeps records in flight at every moment, so
    // the consumer's total lag never reaches zero while traffic runs (a rule waiting for zero lag closes nothing).
    let fastNow = E0 + LAG_MS;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        const ts = fastNow;
        await producer.send(topics.scored, 'ScoredPost', Array.from({ length: 10 }, (_, i) => ({ key: i % 2 === 0 ? fastA : fastB, value: post(ts), timestamp: ts })));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      // Fast partitions run from E0 + LAG to E0 + LAG + TRAFFIC, the slow one LAG behind: all of them busy throughout.
      for (let eventMs = E0; eventMs <= lastSlow; eventMs += (TICK_MS * SPEED)) {
        const slowTs = eventMs;
        const fastTs = eventMs + LAG_MS;
        fastNow = fastTs;
        const messages = [
          ...[fastTs, fastTs + 300, fastTs + 600].map((ts) => ({ key: fastA, value: post(ts), timestamp: ts })),
          ...[fastTs + 100, fastTs + 400, fastTs + 700].map((ts) => ({ key: fastB, value: post(ts), timestamp: ts })),
          ...[slowTs + 200, slowTs + 500, slowTs + 800].map((ts) => ({ key: slow, value: post(ts), timestamp: ts })),
        ];
        await producer.send(topics.scored, 'ScoredPost', messages);
        for (const end of ends) if (!passedAt.has(end) && slowTs + 800 >= end + SETTLE_MS) passedAt.set(end, Date.now());
        const due = began + ((eventMs - E0) / SPEED) + TICK_MS;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      streaming = false;
      await stream;
      const deadline = Date.now() + 15_000;
      while (ends.some((e) => !evaluatedAt.has(e)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      streaming = false;
      await stream.catch(() => undefined);
      clearInterval(watch);
      await producer.close();
      await service.stop();
    }
    const delays = ends.map((end) => ({ window: new Date(end - MINUTE).toISOString(), delayMs: (evaluatedAt.get(end) ?? Infinity) - (passedAt.get(end) ?? 0) }));
    const worst = Math.max(...delays.map((d) => d.delayMs));
    console.log(`windows ${ends.length}, worst evaluation delay after the slowest partition passed end + settle: ${worst} ms; late-counted posts: ${late}; produced ${n}, ingested ${ingested}; wall ${Date.now() - began} ms`);
    assert.ok(ends.length >= 5, 'at least 5 one-minute windows measured');
    for (const d of delays) assert.ok(d.delayMs <= 10_000, `window ${d.window} evaluated ${d.delayMs} ms after the slowest partition passed it (+ settle)`);
    assert.equal(late, 0, 'no post within the allowed lateness was counted late');
  });
});
