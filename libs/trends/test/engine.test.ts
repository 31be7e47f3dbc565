import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '@moodstream/core';
import type { Alert, ScoredPost } from '@moodstream/events';
import type { SeriesUpdate } from '../src/api-types';
import { trendsConfig } from '../src/config';
import { TrendsEngine } from '../src/engine';
import { createMemoryTrendsStore } from '../src/memory-store';
import { LIVE_NAMESPACE, type TrendsStore } from '../src/store';
import { liveEngineOptions, scoredPost, T0 } from './fixtures';
import { describeAlerts, expectedAlertWindowStart, feed, SPIKE_MINUTE, SPIKE_TOPIC, spikeStream, stationaryStream } from './scenarios';


function setup(overrides: Record<string, string | number | boolean> = {}, clock = new VirtualClock(T0)) {
  const config = trendsConfig(overrides);
  const store: TrendsStore = createMemoryTrendsStore({ clock });
  const series: SeriesUpdate[] = [];
  const alerts: Alert[] = [];
  const make = () => new TrendsEngine(liveEngineOptions({ config, store, clock, alerts, series }));
  return { config, store, clock, series, alerts, engine: make(), make };
}

describe('TrendsEngine windows', () => {
  it('rolls 1 m buckets up into 5 m, 1 h and 1 d', async () => {
    const { engine, store } = setup();
    const posts: ScoredPost[] = [];
    for (let m = 0; m < 7; m++) posts.push(scoredPost({ postId: `p${m}`, timestamp: T0 + m * 60_000 + 10_000, topics: ['cats'] }));
    await engine.ingest(posts);
    const [fiveA, fiveB, hour, day, minute3] = await store.readBuckets(LIVE_NAMESPACE, [
      { topic: 'cats', size: '5m', start: T0 },
      { topic: 'cats', size: '5m', start: T0 + 300_000 },
      { topic: 'cats', size: '1h', start: T0 },
      { topic: 'all', size: '1d', start: T0 },
      { topic: 'cats', size: '1m', start: T0 + 180_000 },
    ]);
    assert.equal(fiveA?.count, 5);
    assert.equal(fiveB?.count, 2);
    assert.equal(hour?.count, 7);
    assert.equal(day?.count, 7);
    assert.equal(minute3?.count, 1);
  });

  it('puts late events in their own bucket within the allowed lateness and drops (and counts) later ones', async () => {
    const { engine, store } = setup({ TRENDS_ALLOWED_LATENESS_MS: 5 * 60_000 });
    await engine.ingest([scoredPost({ postId: 'now', timestamp: T0 + 20 * 60_000 })]);
    // Bucket [T0+15m, T0+16m) ends 4 min before the watermark: within 5 min lateness.
    const ok = await engine.ingest([scoredPost({ postId: 'late-ok', timestamp: T0 + 15 * 60_000 + 5_000 })]);
    // Bucket [T0+14m, T0+15m) ends 5 min before: out.
    const dropped = await engine.ingest([scoredPost({ postId: 'too-late', timestamp: T0 + 14 * 60_000 + 59_000 })]);
    assert.deepEqual([ok.accepted, ok.late], [1, 0]);
    assert.deepEqual([dropped.accepted, dropped.late], [0, 1]);
    assert.equal(engine.lateCount, 1);
    const [own, gone] = await store.readBuckets(LIVE_NAMESPACE, [
      { topic: 'cats', size: '1m', start: T0 + 15 * 60_000 },
      { topic: 'cats', size: '1m', start: T0 + 14 * 60_000 },
    ]);
    assert.equal(own?.count, 1);
    assert.equal(gone, null);
  });

  it('counts a redelivered batch once and reports the duplicates', async () => {
    const { engine } = setup();
    const posts = [scoredPost({ postId: 'a', timestamp: T0, topics: ['cats', 'dogs'] }), scoredPost({ postId: 'b', timestamp: T0 + 1 })];
    const first = await engine.ingest(posts);
    const again = await engine.ingest(posts);
    assert.deepEqual([first.added, first.duplicates], [5, 0]);
    assert.deepEqual([again.added, again.duplicates], [0, 5]);
  });

  it('pushes series updates for every size at most once per interval, in virtual time', async () => {
    const clock = new VirtualClock(T0);
    const { engine, series } = setup({ TRENDS_SERIES_PUSH_MS: 1_000 }, clock);
    await engine.ingest([scoredPost({ postId: 'a', timestamp: T0 + 1_000 })]);
    assert.equal(series.length, 8, '4 sizes × (cats, all)');
    assert.deepEqual(new Set(series.map((u) => u.window)), new Set(['1m', '5m', '1h', '1d']));
    series.length = 0;
    await engine.ingest([scoredPost({ postId: 'b', timestamp: T0 + 2_000 })]);
    assert.equal(series.length, 0, 'throttled');
    clock.advance(1_000);
    await engine.flushSeries(); // waits for the timer-driven push queued behind it
    assert.equal(series.length, 8);
    assert.equal(series.find((u) => u.window === '1m' && u.topic === 'cats')?.point.count, 2);
    engine.dispose();
  });

  it('restores its watermark and detector after a restart', async () => {
    const { engine, make } = setup({ TRENDS_ALLOWED_LATENESS_MS: 60_000 });
    await engine.ingest([scoredPost({ postId: 'a', timestamp: T0 + 10 * 60_000 })]);
    const restarted = make();
    await restarted.load();
    assert.equal(restarted.watermark, T0 + 10 * 60_000);
    const late = await restarted.ingest([scoredPost({ postId: 'old', timestamp: T0 })]);
    assert.equal(late.late, 1);
  });
});

describe('TrendsEngine alerts (synthetic stream, virtual time)', () => {
  it('fires exactly one alert for a 3-window scared spike on one of 5 topics, at the right window', async () => {
    const { engine, alerts, config } = setup();
    await feed(spikeStream(60), 500, (batch) => engine.ingest(batch));
    assert.equal(alerts.length, 1, describeAlerts(alerts));
    const [alert] = alerts as [Alert];
    assert.equal(alert.topic, SPIKE_TOPIC);
    assert.equal(alert.emotion, 'scared');
    assert.equal(alert.window.start, expectedAlertWindowStart(config.TRENDS_ALERT_FOR_WINDOWS));
    assert.equal(alert.window.size, '1m');
    assert.ok(alert.observed > 0.15 && alert.expected < 0.07, `observed ${alert.observed} vs expected ${alert.expected}`);
    assert.ok(alert.pValue < alert.threshold);
    assert.ok(Math.abs(alert.threshold - 0.01 / 30) < 1e-12, 'Bonferroni over 5 topics × 6 emotions');
    assert.ok(alert.examplePostIds.length > 0);
    assert.equal(alert.replayId, null);
    // It says why: the effect with its interval, the baseline it beat, the dispersion used.
    const why = alert.explanation ?? assert.fail('the alert carries no explanation');
    assert.ok(Math.abs(why.effect.difference - (alert.observed - alert.expected)) < 1e-9);
    assert.ok(why.effect.lo > 0 && why.effect.lo < why.effect.difference && why.effect.difference < why.effect.hi);
    assert.equal(why.baseline.method, 'ewma', 'under 3 days of history the plain baseline stands alone');
    assert.ok(why.baseline.windows >= config.TRENDS_ALERT_WARMUP_WINDOWS);
    assert.ok(why.dispersion.totalSd >= why.dispersion.samplingSd && why.dispersion.samplingSd > 0);
    assert.ok(Math.abs(alert.statistic * why.dispersion.totalSd - why.effect.difference) < 1e-6, 'z = effect / total sd');
  });

  it('fires at the K-th window with K = 3, and not at all with K = 4', async () => {
    const k3 = setup({ TRENDS_ALERT_FOR_WINDOWS: 3 });
    await feed(spikeStream(60), 500, (batch) => k3.engine.ingest(batch));
    assert.deepEqual(k3.alerts.map((a) => a.window.start), [expectedAlertWindowStart(3)]);
    const k4 = setup({ TRENDS_ALERT_FOR_WINDOWS: 4 });
    await feed(spikeStream(60), 500, (batch) => k4.engine.ingest(batch));
    assert.deepEqual(k4.alerts, []);
  });

  it('fires the same alert whatever the batch size', async () => {
    const small = setup();
    await feed(spikeStream(60), 37, (batch) => small.engine.ingest(batch));
    const large = setup();
    await feed(spikeStream(60), 5_000, (batch) => large.engine.ingest(batch));
    // Example posts are each batch's best few, so they may differ; everything else may not.
    const comparable = (a: Alert) => ({ ...a, firedAt: 0, examplePostIds: a.examplePostIds.length > 0 });
    assert.equal(small.alerts.length, 1);
    assert.deepEqual(small.alerts.map(comparable), large.alerts.map(comparable));
  });

  it('stays quiet over a 6-hour stationary stream at the same rate', async () => {
    const { engine, alerts } = setup();
    const total = await feed(stationaryStream(360), 5_000, (batch) => engine.ingest(batch));
    assert.equal(total, 360_000);
    assert.deepEqual(alerts, [], describeAlerts(alerts));
  });

  it('stops watching topics that have been quiet for a day (they leave the Bonferroni family)', async () => {
    const { engine, alerts } = setup();
    await engine.ingest([scoredPost({ postId: 'ghost', timestamp: T0 - 2 * 86_400_000, topics: ['ghost'] })]);
    const later = setup();
    // Same stream, plus a topic last seen two days earlier: the alert's threshold still counts 5 topics.
    await later.engine.ingest([scoredPost({ postId: 'ghost', timestamp: T0 - 2 * 86_400_000, topics: ['ghost'] })]);
    await feed(spikeStream(60), 2_000, (batch) => later.engine.ingest(batch));
    assert.equal(later.alerts.length, 1, describeAlerts(later.alerts));
    assert.ok(Math.abs(later.alerts[0]!.threshold - 0.01 / 30) < 1e-12);
    assert.equal(alerts.length, 0);
    assert.equal(later.engine.watchedPairs(), 30);
  });

  it('evaluates alert windows by the clock when the stream goes quiet', async () => {
    const { engine, alerts } = setup({ TRENDS_ALERT_SETTLE_MS: 0 });
    await feed(spikeStream(SPIKE_MINUTE + 2), 500, (batch) => engine.ingest(batch));
    // The stream stops inside the spike: window SPIKE_MINUTE+1 is not evaluated yet.
    assert.equal(alerts.length, 0);
    await engine.advanceWatermark(expectedAlertWindowStart(2) + 60_000);
    assert.equal(alerts.length, 1);
  });
});
