import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createMemoryBus } from '@moodstream/bus';
import { createLogger } from '@moodstream/core';
import { AlertSchema, topicNames, type Alert, type ScoredPost } from '@moodstream/events';
import { ReplayStatusSchema, SeriesResponseSchema, type ReplayStatus, type SeriesUpdate } from '../src/api-types';
import { trendsConfig } from '../src/config';
import { createTrendsHttpHandler } from '../src/http';
import { createMemoryTrendsStore } from '../src/memory-store';
import { createTrendsService, type TrendsService } from '../src/service';
import { T0 } from './fixtures';
import { expectedAlertWindowStart, feed, SPIKE_TOPIC, spikeStream } from './scenarios';

const logger = createLogger('test', { level: 'silent' });

async function produce(bus: ReturnType<typeof createMemoryBus>, topic: string, posts: Iterable<ScoredPost>): Promise<number> {
  const producer = await bus.producer();
  const n = await feed(posts, 2_000, (batch) => producer.send(topic, 'ScoredPost', batch.map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp }))));
  await producer.close();
  return n;
}

describe('trends service + HTTP API (memory bus and store)', () => {
  const topics = topicNames(`t${Date.now()}.`);
  const bus = createMemoryBus({ defaultPartitions: 3 });
  const store = createMemoryTrendsStore();
  let service: TrendsService;
  let server: Server;
  let base: string;
  const alerts: Alert[] = [];
  const series: SeriesUpdate[] = [];
  const replays: ReplayStatus[] = [];

  before(async () => {
    await bus.ensureTopics([{ name: topics.scored, partitions: 3 }]);
    // History for replays: the spike scenario, produced before the live service starts consuming.
    await produce(bus, topics.scored, spikeStream(60));
    service = createTrendsService({ bus, store, logger, config: trendsConfig({ TRENDS_SERIES_PUSH_MS: 0 }), topics, groupId: 'trends-test' });
    service.on('alert', (a) => alerts.push(a));
    service.on('series', (u) => series.push(u));
    service.on('replay', (s) => replays.push(s));
    await service.start();
    const handler = createTrendsHttpHandler(service, { logger });
    server = createServer((req, res) => {
      handler(req, res).then((handled) => {
        if (!handled) {
          res.writeHead(418);
          res.end('not mine');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await service.stop();
    await bus.close();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = async (path: string) => {
    const res = await fetch(base + path);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const post = async (path: string, body?: unknown) => {
    const res = await fetch(base + path, { method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('consumes the scored topic, aggregates and alerts live', async () => {
    const deadline = Date.now() + 60_000;
    while (alerts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.topic, SPIKE_TOPIC);
    assert.equal(alerts[0]?.window.start, expectedAlertWindowStart(2));
    assert.ok(series.some((u) => u.topic === SPIKE_TOPIC && u.window === '1m'));
    while ((await service.consumerLag()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await service.consumerLag(), 0);
  });

  it('serves topics, series, alerts, posts and acknowledgements', async () => {
    const topicList = await get('/api/topics');
    assert.equal(topicList.status, 200);
    const names = (topicList.body['topics'] as { topic: string }[]).map((t) => t.topic);
    assert.equal(names[0], 'all');
    assert.equal(names.length, 6);

    const iso = new Date(T0).toISOString();
    const seriesRes = await get(`/api/series?topic=${SPIKE_TOPIC}&window=1m&from=${encodeURIComponent(iso)}&to=${T0 + 3_600_000}`);
    assert.equal(seriesRes.status, 200);
    const parsed = SeriesResponseSchema.parse(seriesRes.body);
    assert.equal(parsed.points.length, 60);
    assert.equal(parsed.points.reduce((a, p) => a + p.count, 0), 12_000);
    const spikePoint = parsed.points.find((p) => p.start === T0 + 40 * 60_000);
    assert.ok(spikePoint !== undefined && spikePoint.shares.scared.share > 0.15 && spikePoint.shares.scared.lo < spikePoint.shares.scared.share);

    const hourly = SeriesResponseSchema.parse((await get(`/api/series?window=1h&from=${T0}&to=${T0 + 3_600_000}`)).body);
    assert.deepEqual(hourly.points.map((p) => p.count), [60_000]);

    const list = await get('/api/alerts?limit=5');
    const [alert] = (list.body['alerts'] as unknown[]).map((a) => AlertSchema.parse(a));
    assert.ok(alert !== undefined);
    const postsRes = await get(`/api/posts?topic=${SPIKE_TOPIC}&window=1m&start=${alert.window.start}&emotion=scared&limit=3`);
    const examples = postsRes.body['posts'] as { postId: string; probabilities: number[] }[];
    assert.equal(examples.length, 3);
    assert.ok(examples[0]!.probabilities[4]! >= examples[2]!.probabilities[4]!);

    const acked = await post(`/api/alerts/${encodeURIComponent(alert.id)}/ack`);
    assert.equal(acked.status, 200);
    assert.equal(AlertSchema.parse(acked.body).acknowledged, true);
    assert.equal((await post('/api/alerts/nope/ack')).status, 404);
  });

  it('answers bad requests with clear 400s and leaves other paths alone', async () => {
    const badWindow = await get('/api/series?window=2m');
    assert.equal(badWindow.status, 400);
    assert.equal((badWindow.body['error'] as { code: string }).code, 'BAD_REQUEST');
    assert.match((badWindow.body['error'] as { message: string }).message, /window/);
    assert.equal((await get('/api/series?from=yesterday')).status, 400);
    assert.equal((await get('/api/series?bogus=1')).status, 400);
    assert.equal((await get(`/api/series?window=1m&from=0&to=${T0}`)).status, 400, 'too many points');
    assert.equal((await get('/api/alerts?limit=0')).status, 400);
    assert.equal((await post('/api/replays', { topic: 'x', from: T0 + 10, to: T0 })).status, 400);
    const noModel = await post('/api/replays', { topic: 'x', from: T0, to: T0 + 10, rescore: true });
    assert.equal(noModel.status, 400, 'no model');
    assert.equal((noModel.body['error'] as { code: string }).code, 'TRENDS_RESCORE_UNAVAILABLE');
    const tooLong = await post('/api/replays', { topic: 'x', from: T0, to: T0 + 40 * 86_400_000 });
    assert.equal(tooLong.status, 400, 'range over the limit');
    assert.equal((tooLong.body['error'] as { code: string }).code, 'TRENDS_REPLAY_RANGE');
    const huge = await fetch(`${base}/api/replays`, { method: 'POST', body: 'x'.repeat(100_000), headers: { 'content-type': 'application/json' } });
    assert.equal(huge.status, 413);
    const notJson = await fetch(`${base}/api/replays`, { method: 'POST', body: '{oops', headers: { 'content-type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.equal((await get('/api/replays/rp_missing')).status, 404);
    assert.equal((await post('/api/replays/rp_missing/pause')).status, 404);
    assert.equal((await get('/api/nothing-here')).status, 404);
    const badEscape = await get('/api/%E0%A4%A');
    assert.equal(badEscape.status, 400, 'a malformed percent-escape is the caller’s mistake, not a 500');
    assert.equal((badEscape.body['error'] as { code: string }).code, 'BAD_REQUEST');
    assert.equal((await get('/api/replays/rp_missing/%E0%A4%A')).status, 400);
    assert.equal((await fetch(`${base}/api/topics`, { method: 'DELETE' })).status, 405);
    assert.equal((await fetch(`${base}/dashboard`)).status, 418, 'falls through');
    assert.equal((await fetch(`${base}/apiary`)).status, 418, 'falls through');
  });

  it('replays history at max speed into an isolated namespace and fires the same alert, tagged', async () => {
    const started = await post('/api/replays', { topic: SPIKE_TOPIC, from: new Date(T0).toISOString(), to: T0 + 3_600_000, speed: 'max' });
    assert.equal(started.status, 201);
    const status = ReplayStatusSchema.parse(started.body);
    const final = await service.waitForReplay(status.id);
    assert.equal(final.state, 'done', final.error ?? '');
    assert.equal(final.processed, 12_000);
    assert.equal(final.progress, 1);
    assert.equal(final.alerts, 1);
    const replayAlerts = alerts.filter((a) => a.replayId === status.id);
    assert.equal(replayAlerts.length, 1);
    const live = alerts.find((a) => a.replayId === null)!;
    const replayed = replayAlerts[0]!;
    assert.deepEqual(
      { topic: replayed.topic, emotion: replayed.emotion, window: replayed.window, observed: replayed.observed, count: replayed.count },
      { topic: live.topic, emotion: live.emotion, window: live.window, observed: live.observed, count: live.count },
    );
    // Live evaluated its first windows while the consumer had not yet reached every partition, so its
    // baseline differs a little; the replay saw complete windows.
    assert.ok(Math.abs(replayed.expected - live.expected) < 0.001);
    assert.notEqual(replayed.id, live.id);
    // Isolated: the replay's series lives under its id; live aggregates did not change.
    const replaySeries = SeriesResponseSchema.parse((await get(`/api/series?replay=${status.id}&window=1h&from=${T0}&to=${T0 + 3_600_000}`)).body);
    assert.deepEqual(replaySeries.points.map((p) => p.count), [12_000]);
    const liveSeries = SeriesResponseSchema.parse((await get(`/api/series?topic=${SPIKE_TOPIC}&window=1h&from=${T0}&to=${T0 + 3_600_000}`)).body);
    assert.deepEqual(liveSeries.points.map((p) => p.count), [12_000]);
    const liveAll = SeriesResponseSchema.parse((await get(`/api/series?window=1h&from=${T0}&to=${T0 + 3_600_000}`)).body);
    assert.deepEqual(liveAll.points.map((p) => p.count), [60_000]);
    assert.equal(((await get(`/api/alerts?replay=${status.id}`)).body['alerts'] as unknown[]).length, 1);
    assert.ok(series.some((u) => u.replay === status.id && u.window === '1m'));
    assert.ok(replays.some((s) => s.id === status.id && s.state === 'done'));
    assert.equal(((await get('/api/replays')).body['replays'] as unknown[]).length, 1);
  });

  it('paces a replay, can pause, resume and stop it, and never shows buckets past its cursor', async () => {
    // 60 minutes of history at 1200× real time ≈ 3 s.
    const started = await post('/api/replays', { topic: SPIKE_TOPIC, from: T0, to: T0 + 3_600_000, speed: 1200 });
    const id = ReplayStatusSchema.parse(started.body).id;
    // Wait until playback is under way (loading comes first), then pause.
    const deadline = Date.now() + 30_000;
    while (((await service.replayStatus(id))?.progress ?? 0) < 0.05 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const paused = ReplayStatusSchema.parse((await post(`/api/replays/${id}/pause`)).body);
    assert.equal(paused.state, 'paused');
    await new Promise((r) => setTimeout(r, 300));
    const during = ReplayStatusSchema.parse((await get(`/api/replays/${id}`)).body);
    assert.ok(during.progress > 0 && during.progress < 1, `progress ${during.progress}`);
    const visible = SeriesResponseSchema.parse((await get(`/api/series?replay=${id}&window=1m&from=${T0}&to=${T0 + 3_600_000}`)).body);
    assert.ok(visible.points.length > 0 && visible.points.every((p) => p.start + 60_000 <= during.cursor), 'nothing from the future');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ReplayStatusSchema.parse((await get(`/api/replays/${id}`)).body).cursor, during.cursor, 'paused means paused');
    assert.equal(ReplayStatusSchema.parse((await post(`/api/replays/${id}/resume`)).body).state, 'running');
    const final = await service.waitForReplay(id);
    assert.equal(final.state, 'done');
    assert.equal(final.alerts, 1, 'a paced replay fires what max speed fires');

    const stopping = ReplayStatusSchema.parse((await post('/api/replays', { topic: SPIKE_TOPIC, from: T0, to: T0 + 3_600_000, speed: 10 })).body);
    await new Promise((r) => setTimeout(r, 300));
    await post(`/api/replays/${stopping.id}/stop`);
    const stopped = await service.waitForReplay(stopping.id);
    assert.equal(stopped.state, 'stopped');
    assert.ok(stopped.progress < 1);
  });
});
