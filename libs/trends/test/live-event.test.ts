import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { seededRandom, VirtualClock } from '@moodstream/core';
import { EMOTIONS, topicBudget, type Alert, type IngesterReport, type MomentUpdate, type SeriesResponse } from '@moodstream/events';
import type { BucketStats } from '../src/bucket';
import { SpikeDetector, type DetectorSettings, type TopicAlertRule } from '../src/detector';
import { alertsCsv, csvField, SERIES_CSV_HEADER, seriesCsv } from '../src/export-csv';
import { alertRuleDefaults, createLiveEventRouter } from '../src/live-event-http';
import { createLocalLiveEventStores } from '../src/live-event-stores';
import { createFileTopicRegistry, createMemoryTopicRegistry } from '../src/topic-registry-store';
import { trendsConfig } from '../src/config';
import { BASELINE_SHARES } from '../src/synthetic';
import { sampleWindowStats, windowShares } from '../src/synthetic-windows';
import { T0 } from './fixtures';

const MINUTE = 60_000;
const settings: DetectorSettings = { level: 0.01, forWindows: 2, minCount: 30, alpha: 0.1, warmupWindows: 10, cooldownWindows: 10 };
const ANGRY = EMOTIONS.indexOf('angry');
const rule = (overrides: Partial<TopicAlertRule>): TopicAlertRule => ({ enabled: true, emotions: [...EMOTIONS], level: 0.01, minCount: 30, forWindows: 2, mutedUntil: null, ...overrides });

/** Two topics with the same stream (40 quiet windows, then angry tripled for 5): which of them fire, and when. */
function spikeRun(rules?: ReadonlyMap<string, TopicAlertRule>): { topic: string; minute: number; emotion: string }[] {
  const detector = new SpikeDetector(settings);
  const random = seededRandom(11);
  const fired: { topic: string; minute: number; emotion: string }[] = [];
  for (let minute = 0; minute < 45; minute++) {
    const shares = windowShares({ base: BASELINE_SHARES, jitter: 0.02, focus: ANGRY, multiplier: minute >= 40 ? 3 : 1 }, random);
    const stats: BucketStats = sampleWindowStats({ shares, count: 400, concentration: 5 }, random);
    const windows = new Map<string, BucketStats | null>([
      ['ruled', stats],
      ['control', stats],
    ]);
    for (const v of detector.evaluate(T0 + minute * MINUTE, MINUTE, windows, undefined, rules)) if (v.fires) fired.push({ topic: v.topic, minute, emotion: v.emotion });
  }
  return fired;
}

describe('per-topic alert rules in the detector', () => {
  it('without rules, and with an empty rule map, fires exactly as before (the default path is unchanged)', () => {
    const plain = spikeRun();
    assert.deepEqual(spikeRun(new Map()), plain);
    assert.deepEqual([...new Set(plain.map((f) => `${f.topic} ${f.emotion}`))].sort(), ['control angry', 'ruled angry'], 'only the planted spike fires');
    assert.ok(plain.some((f) => f.topic === 'control' && f.emotion === 'angry' && f.minute >= 41), `the planted spike fires: ${JSON.stringify(plain)}`);
    assert.ok(plain.some((f) => f.topic === 'ruled' && f.emotion === 'angry'));
  });

  it('a topic switched off, muted over the spike, or not watching that emotion does not fire; the other topic still does', () => {
    for (const off of [rule({ enabled: false }), rule({ mutedUntil: T0 + 50 * MINUTE }), rule({ emotions: ['happy', 'sad'] })]) {
      const fired = spikeRun(new Map([['ruled', off]]));
      assert.deepEqual(fired.filter((f) => f.topic === 'ruled'), [], JSON.stringify(off));
      assert.ok(fired.some((f) => f.topic === 'control' && f.emotion === 'angry'), 'the control topic still alerts');
    }
  });

  it('a mute that ended before the spike lets it fire; a stricter persistence fires later; a huge min count never', () => {
    const ended = spikeRun(new Map([['ruled', rule({ mutedUntil: T0 + 5 * MINUTE })]]));
    assert.ok(ended.some((f) => f.topic === 'ruled'));
    const plain = spikeRun().find((f) => f.topic === 'ruled');
    const slower = spikeRun(new Map([['ruled', rule({ forWindows: 4 })]])).find((f) => f.topic === 'ruled');
    assert.ok(plain !== undefined && slower !== undefined && slower.minute === plain.minute + 2, `fired at ${plain?.minute} then ${slower?.minute}`);
    assert.deepEqual(spikeRun(new Map([['ruled', rule({ minCount: 1_000 })]])).filter((f) => f.topic === 'ruled'), []);
  });
});

describe('the request budget across watched tags', () => {
  it('sustains the tighter of the hourly and daily limits, and carries tags while each is polled every 15 minutes', () => {
    const b = topicBudget({ limits: { perMinute: 300, perHour: 1000, perDay: 5000 }, pollIntervalMs: 60_000, watched: 6 });
    assert.ok(Math.abs(b.sustainablePerHour - 5000 / 24) < 1e-9);
    assert.equal(b.capacity, Math.floor((5000 / 24) / 4));
    assert.ok(Math.abs(b.costPerTagPerHour - 5000 / 24 / 7) < 1e-9, 'at 7 tags the budget, not the poll interval, sets the pace');
    const roomy = topicBudget({ limits: { perMinute: 300, perHour: 1000, perDay: 100_000 }, pollIntervalMs: 60_000, watched: 2 });
    assert.equal(roomy.costPerTagPerHour, 60, 'one page a poll, a poll a minute');
  });
});

describe('live-event stores', () => {
  it('the memory registry refuses a duplicate, removes, and lets reports expire', async () => {
    const clock = new VirtualClock(T0);
    const registry = createMemoryTopicRegistry({ clock });
    assert.equal(await registry.add({ tag: 'final', addedAt: T0, addedBy: 'x' }), true);
    assert.equal(await registry.add({ tag: 'final', addedAt: T0 + 1, addedBy: 'y' }), false);
    await registry.add({ tag: 'debate', addedAt: T0 - 5, addedBy: 'x' });
    assert.deepEqual((await registry.list()).map((t) => t.tag), ['debate', 'final'], 'oldest first');
    assert.equal(await registry.remove('debate'), true);
    assert.equal(await registry.remove('debate'), false);
    const report: IngesterReport = { ingester: 'a', reportedAt: T0, limits: { perMinute: 1, perHour: 1, perDay: 1 }, left: { perMinute: 1, perHour: 1, perDay: 1 }, pollIntervalMs: 1000, tags: [], configured: [], lastPolled: {} };
    await registry.report(report, 30_000);
    assert.equal((await registry.reports()).length, 1);
    clock.advance(30_000);
    assert.equal((await registry.reports()).length, 0, 'expired');
  });

  it('the file registry survives a restart (a new store on the same file) and is seen by another process at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'moodstream-registry-'));
    try {
      const path = join(dir, 'sub', 'watched-topics.json');
      const first = createFileTopicRegistry(path);
      assert.deepEqual(await first.list(), []);
      await Promise.all([first.add({ tag: 'kick off', addedAt: 2, addedBy: 'a' }), first.add({ tag: 'storm', addedAt: 1, addedBy: 'a' })]);
      const second = createFileTopicRegistry(path);
      assert.deepEqual((await second.list()).map((t) => t.tag), ['storm', 'kick off']);
      await second.remove('storm');
      assert.deepEqual((await first.list()).map((t) => t.tag), ['kick off']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('CSV export', () => {
  it('quotes commas, quotes and line breaks, and defuses formulas', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
    assert.equal(csvField('-2+3'), "'-2+3");
    assert.equal(csvField(-0.5), '-0.5', 'numbers are numbers');
    assert.equal(csvField(null), '');
  });

  it('writes one row per bucket with shares, intervals, corrected shares and the model version', () => {
    const shares = Object.fromEntries(EMOTIONS.map((e, i) => [e, { share: i === 0 ? 0.5 : 0.1, lo: 0.05, hi: 0.6 }])) as SeriesResponse['points'][number]['shares'];
    const point = { start: T0, count: 12, shares, corrected: null, topCounts: Object.fromEntries(EMOTIONS.map((e) => [e, 2])) as SeriesResponse['points'][number]['topCounts'], explicitCount: 0 };
    const csv = seriesCsv({ topic: 'a,b', window: '1m', from: T0, to: T0 + MINUTE * 2, replay: null, points: [point, { ...point, start: T0 + MINUTE, count: 3 }] }, 'ds-1');
    const lines = csv.trimEnd().split('\r\n');
    assert.equal(lines.length, 3);
    assert.equal(lines[0], SERIES_CSV_HEADER.join(','));
    assert.equal(lines[1], ['2026-01-01T00:00:00.000Z', T0, '"a,b"', '1m', 12, 0.5, 0.05, 0.6, '', ...Array.from({ length: 5 }, () => [0.1, 0.05, 0.6, '']).flat(), 'ds-1'].join(','));
    assert.ok(lines[2]?.includes(',3,'));
  });

  it('writes the alert list', () => {
    const alert: Alert = {
      id: 'x',
      topic: 'final',
      emotion: 'angry',
      window: { size: '1m', start: T0, end: T0 + MINUTE },
      observed: 0.3,
      expected: 0.1,
      count: 50,
      statistic: 4.2,
      pValue: 1e-5,
      threshold: 1e-4,
      examplePostIds: [],
      firedAt: T0 + 2 * MINUTE,
      replayId: null,
      acknowledged: false,
    };
    const lines = alertsCsv([alert]).trimEnd().split('\r\n');
    assert.equal(lines.length, 2);
    assert.match(lines[1] ?? '', /^x,final,angry,1m,2026-01-01T00:00:00.000Z,2026-01-01T00:01:00.000Z,0.3,0.1,,,,50,4.2,0.00001,0.0001,2026-01-01T00:02:00.000Z,false,$/);
  });
});

describe('live-event HTTP routes', () => {
  const clock = new VirtualClock(T0);
  const stores = createLocalLiveEventStores({ clock });
  const pushed: MomentUpdate[] = [];
  const series: SeriesResponse = { topic: 'final', window: '1m', from: T0, to: T0 + MINUTE, replay: null, points: [] };
  const router = createLiveEventRouter({
    stores,
    alertDefaults: alertRuleDefaults(trendsConfig()),
    who: (req) => `${String(req.headers['x-moodstream-operator'] ?? 'operator')} (test)`,
    onMoment: (update) => pushed.push(update),
    series: (query) => Promise.resolve({ ...series, topic: query.topic }),
    alerts: () => Promise.resolve([]),
    modelVersion: () => Promise.resolve('ds-test'),
    clock,
  });
  let server: Server;
  let base = '';
  before(async () => {
    server = createServer((req, res) => {
      void router.handle(req, res).then((handled) => {
        if (!handled) res.writeHead(418).end();
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((done) => server.close(() => done())));
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', 'x-moodstream-operator': 'ana' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : text };
  };

  it('adds a tag normalised like the ingester, refuses duplicates, "all" and junk, and falls through for other paths', async () => {
    const added = await call('POST', '/api/topics/watched', { tag: '  #Debate   Night ' });
    assert.equal(added.status, 201);
    assert.deepEqual(added.body, { tag: 'debate night', addedAt: T0, addedBy: 'ana (test)' });
    assert.equal((await call('POST', '/api/topics/watched', { tag: 'DEBATE night' })).status, 409);
    assert.equal((await call('POST', '/api/topics/watched', { tag: '#all' })).status, 400);
    assert.equal((await call('POST', '/api/topics/watched', { tag: '   ' })).status, 400);
    assert.equal((await call('POST', '/api/topics/watched', { tag: 'x', extra: 1 })).status, 400);
    assert.equal((await call('GET', '/api/topics')).status, 418, 'the trends API answers its own paths');
    const list = (await call('GET', '/api/topics/watched')).body as { topics: { tag: string }[]; budget: unknown };
    assert.deepEqual(list.topics.map((t) => t.tag), ['debate night']);
    assert.equal(list.budget, null, 'no ingester reported');
    assert.equal((await call('DELETE', `/api/topics/watched/${encodeURIComponent('debate night')}`)).status, 200);
    assert.equal((await call('DELETE', '/api/topics/watched/debate%20night')).status, 404);
  });

  it('refuses a tag the reported budget cannot carry, saying why, and a start-up tag cannot be removed', async () => {
    const limits = { perMinute: 300, perHour: 1000, perDay: 24 * 16 };
    await stores.topics.report({ ingester: 'i', reportedAt: T0, limits, left: limits, pollIntervalMs: 60_000, tags: ['happy', 'sad'], configured: ['happy', 'sad'], lastPolled: {} }, 60_000);
    // 16 requests an hour sustain 4 tags polled every 15 minutes: 2 configured + 2 more.
    assert.equal((await call('POST', '/api/topics/watched', { tag: 'one' })).status, 201);
    assert.equal((await call('POST', '/api/topics/watched', { tag: 'two' })).status, 201);
    const refused = await call('POST', '/api/topics/watched', { tag: 'three' });
    assert.equal(refused.status, 409);
    assert.match(JSON.stringify(refused.body), /budget cannot carry #three: it sustains 16 requests an hour, enough to poll 4 tags/);
    const list = (await call('GET', '/api/topics/watched')).body as { budget: { capacity: number; watched: number; costPerTagPerHour: number } };
    assert.deepEqual([list.budget.capacity, list.budget.watched], [4, 4]);
    assert.equal((await call('DELETE', '/api/topics/watched/happy')).status, 409);
    await call('DELETE', '/api/topics/watched/one');
    await call('DELETE', '/api/topics/watched/two');
  });

  it('marks a moment, pushes it, lists it by time and removes it', async () => {
    const added = await call('POST', '/api/moments', { label: '  kick   off ', at: T0 + 5 * MINUTE });
    assert.equal(added.status, 201);
    const moment = added.body as { id: string; label: string; at: number; createdBy: string };
    assert.equal(moment.label, 'kick off');
    assert.equal(moment.createdBy, 'ana (test)');
    assert.deepEqual(pushed.map((p) => p.action), ['added']);
    assert.equal((await call('POST', '/api/moments', { label: '' })).status, 400);
    const listed = (await call('GET', `/api/moments?from=${T0}&to=${T0 + 10 * MINUTE}`)).body as { moments: { id: string }[] };
    assert.deepEqual(listed.moments.map((m) => m.id), [moment.id]);
    assert.deepEqual(((await call('GET', `/api/moments?from=${T0 + 6 * MINUTE}&to=${T0 + 10 * MINUTE}`)).body as { moments: unknown[] }).moments, []);
    assert.equal((await call('DELETE', `/api/moments/${moment.id}`)).status, 200);
    assert.deepEqual(pushed.map((p) => p.action), ['added', 'removed']);
  });

  it('a rule change starts from the defaults, is audited with before and after, and a mute runs from now', async () => {
    const first = await call('POST', '/api/alert-rules/final', { enabled: false });
    assert.equal(first.status, 200);
    assert.deepEqual({ ...(first.body as object), updatedAt: 0 }, { topic: 'final', enabled: false, emotions: [...EMOTIONS], level: 0.01, minCount: 30, forWindows: 2, mutedUntil: null, updatedAt: 0, updatedBy: 'ana (test)' });
    clock.advance(1_000);
    const second = (await call('POST', '/api/alert-rules/final', { emotions: ['sad', 'angry'], muteForMs: 600_000 })).body as { enabled: boolean; emotions: string[]; mutedUntil: number };
    assert.deepEqual([second.enabled, second.emotions, second.mutedUntil], [false, ['sad', 'angry'], clock.now() + 600_000]);
    assert.equal((await call('POST', '/api/alert-rules/final', { level: 2 })).status, 400);
    const audit = ((await call('GET', '/api/alert-rules/audit?topic=final')).body as { audit: { who: string; before: { enabled: boolean } | null; after: { emotions: string[] } | null }[] }).audit;
    assert.equal(audit.length, 2);
    assert.equal(audit[1]?.before, null, 'the first change started from the defaults');
    assert.deepEqual(audit[0]?.after?.emotions, ['sad', 'angry']);
    assert.equal(audit[0]?.who, 'ana (test)');
    assert.equal((await call('DELETE', '/api/alert-rules/final')).status, 200);
    assert.deepEqual(((await call('GET', '/api/alert-rules')).body as { rules: unknown[] }).rules, []);
    assert.equal(((await call('GET', '/api/alert-rules/audit')).body as { audit: { after: unknown }[] }).audit[0]?.after, null);
  });

  it('exports the series as CSV', async () => {
    const res = await fetch(`${base}/api/export/series.csv?topic=final&from=${T0}&to=${T0 + MINUTE}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="moodstream-final-1m-/);
    assert.equal(await res.text(), `${SERIES_CSV_HEADER.join(',')}\r\n`);
  });
});
