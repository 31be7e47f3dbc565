import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { createLogger } from '@moodstream/core';
import { createDashboardApp, type DashboardApp } from '../src/app';
import { dashboardConfig } from '../src/config';
import { launchBrowser, watchConsole } from './support/browser';
import { FakeTrends, makeAlert, makePoint } from './support/fake-trends';
import { seedHour } from './support/seed';

/**
 * The dashboard in a real headless Chromium against its real server, driven by a test double of the trends service
 * (an emitter plus arrays): live chart updates, the alert feed, the posts drill-down's safety rules, replay, phone
 * width. The full-stack test with the real pipeline lives in the repository's test/e2e.
 */

const MIN = 60_000;
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts/dashboard');
const HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> storm is coming';

describe('dashboard in a browser', { timeout: 240_000 }, () => {
  const fake = new FakeTrends();
  let app: DashboardApp;
  let base: string;
  let images: Server;
  let imageBase: string;
  let imageHits = 0;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let last: number;
  /** The bucket the example posts (and the planted alert) belong to. */
  let alertStart: number;

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    images = createServer((req, res) => {
      imageHits++;
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      res.end(`<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><rect width="96" height="96" fill="#4c8dff"/><text x="10" y="55" fill="#fff" font-size="20">${req.url === '/explicit.svg' ? 'NSFW' : 'cloud'}</text></svg>`);
    });
    await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
    imageBase = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;

    // Seeded before the (possibly slow) build so `last` is known; the first test re-seeds the current hour.
    last = seedHour(fake);
    alertStart = last - 5 * MIN;
    fake.posts.push(
      ...[
        { postId: 'p-hostile', text: HOSTILE, imageUrl: `${imageBase}/safe.svg`, explicit: 0.02, probabilities: [0.05, 0.1, 0.05, 0.1, 0.65, 0.05] },
        { postId: 'p-explicit', text: 'hiding under the blanket', imageUrl: `${imageBase}/explicit.svg`, explicit: 0.93, probabilities: [0.02, 0.2, 0.03, 0.05, 0.6, 0.1] },
        { postId: 'p-js-url', text: 'no image for you', imageUrl: 'javascript:window.__pwned=3', explicit: null, probabilities: [0.1, 0.1, 0.1, 0.1, 0.5, 0.1] },
      ].map((p) => ({
        topic: 'storm watch',
        window: '1m' as const,
        start: alertStart,
        replay: null,
        post: { ...p, timestamp: alertStart + 1_000, url: 'https://example.tumblr.com/post/1', topEmotion: 'scared' as const, modality: 'both' as const },
      })),
    );

    app = createDashboardApp({
      config: dashboardConfig({ PORT: 0, DASHBOARD_PUSH_INTERVAL_MS: 50 }),
      logger: createLogger('dashboard-e2e', { level: 'warn' }),
      trends: fake,
      api: fake.handler,
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    base = (await app.start()).url;
    browser = await launchBrowser();
    context = browser.context;
    page = await context.newPage();
    problems = watchConsole(page);
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
    await new Promise<void>((r) => images?.close(() => r()));
  });

  it('draws the last hour and moves the newest point when a new bucket is pushed', async () => {
    last = seedHour(fake);
    await page.goto(`${base}/`);
    const chart = page.getByTestId('chart');
    await chart.locator('.recharts-line').first().waitFor({ timeout: 15_000 });
    const seriesRequest = fake.requests.find((r) => r.startsWith('GET /api/series?') && r.includes('topic=all'));
    assert.ok(seriesRequest !== undefined);
    const asked = new URL(seriesRequest.slice(4), 'http://x').searchParams;
    const expected = (fake.points.get('|1m|all') ?? []).filter((p) => p.start >= Number(asked.get('from')) && p.start < Number(asked.get('to'))).length;
    assert.ok(expected >= 59, `the page asked for the last hour (${asked.toString()})`);
    assert.equal(await chart.getAttribute('data-points'), String(expected));
    assert.equal(await page.getByTestId('chart-latest-time').getAttribute('data-start'), String(last));
    await page.getByTestId('connection').and(page.locator('[data-connected="true"]')).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'live-before.png') });

    const pushedAt = Date.now();
    fake.putPoint('all', '1m', makePoint(last + MIN, 512, { happy: 0.2, scared: 0.4 }));
    await page.locator(`[data-testid="chart-latest-time"][data-start="${last + MIN}"]`).waitFor({ timeout: 5_000 });
    const movedWithin = Date.now() - pushedAt;
    assert.ok(movedWithin < 5_000, `newest point moved after ${movedWithin} ms`);
    assert.equal(await page.getByTestId('latest-count').textContent(), '512');

    // A re-sent bucket replaces its earlier version instead of adding a point.
    const before = await chart.getAttribute('data-points');
    fake.putPoint('all', '1m', makePoint(last + MIN, 530, { happy: 0.2, scared: 0.4 }));
    await page.getByTestId('latest-count').filter({ hasText: '530' }).waitFor({ timeout: 5_000 });
    assert.equal(await chart.getAttribute('data-points'), before);
  });

  it('shows a new alert in the feed without a reload and links it to its moment and posts', async () => {
    assert.equal(await page.getByTestId('alert-item').count(), 0);
    await page.getByTestId('alerts-empty').waitFor();
    const alert = makeAlert({ id: 'storm-scared-1', topic: 'storm watch', emotion: 'scared', window: { size: '1m', start: alertStart, end: alertStart + MIN }, observed: 0.38, expected: 0.09 });
    fake.addAlert(alert);
    const item = page.getByTestId('alert-item');
    await item.waitFor({ timeout: 5_000 });
    const text = await item.textContent();
    assert.match(text ?? '', /Scared/);
    assert.match(text ?? '', /#storm watch/);
    assert.match(text ?? '', /38\.0%/);
    await item.evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)));
    await page.screenshot({ path: join(ARTIFACTS, 'live-alert.png') });

    await item.getByTestId('alert-posts').click();
    await page.getByTestId('post-item').first().waitFor({ timeout: 10_000 });
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('topic'), 'storm watch');
    assert.equal(url.searchParams.get('at'), String(alert.window.start));
    assert.equal(url.searchParams.get('emotion'), 'scared');
    assert.equal(await page.getByTestId('topic-picker').inputValue(), 'storm watch');
    await page.locator('.recharts-reference-area').first().waitFor({ timeout: 5_000 });

    await item.getByTestId('alert-ack').click();
    await item.getByTestId('alert-acked').waitFor({ timeout: 5_000 });
    assert.deepEqual(fake.acknowledged, ['storm-scared-1']);
  });

  it('renders user text as text, hides explicit images until asked, and drops non-http image URLs', async () => {
    const texts = await page.getByTestId('post-text').allTextContents();
    assert.ok(texts.includes(HOSTILE), 'the caption shows literally, tags and all');
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'no user script ran');
    assert.equal(await page.locator('.post-list script').count(), 0);

    const explicit = page.locator('[data-post-id="p-explicit"]');
    await explicit.getByTestId('explicit-hidden').waitFor();
    assert.equal(await explicit.locator('img').count(), 0, 'the hidden image is not even requested');
    assert.equal(await page.locator('[data-post-id="p-js-url"] img').count(), 0);
    assert.equal(await page.locator('[data-post-id="p-hostile"] img').count(), 1);
    await page.getByTestId('posts-panel').screenshot({ path: join(ARTIFACTS, 'posts.png') });

    await explicit.getByTestId('show-explicit').click();
    await explicit.locator('img[data-testid="post-image"]').waitFor();
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-post-id="p-explicit"] img')].every((img) => img.complete && img.naturalWidth > 0));
    assert.ok(imageHits >= 2);
  });

  it('opens the posts of a bucket clicked on the chart', async () => {
    await page.goto(`${base}/`);
    await page.getByTestId('chart').locator('.recharts-line').first().waitFor({ timeout: 15_000 });
    const surface = page.getByTestId('chart').locator('.recharts-surface').first();
    const box = await surface.boundingBox();
    assert.ok(box !== null);
    await surface.click({ position: { x: box.width * 0.5, y: box.height * 0.5 } });
    await page.getByTestId('posts-panel').waitFor({ timeout: 5_000 });
    const at = Number(new URL(page.url()).searchParams.get('at'));
    assert.ok(at > last - 60 * MIN && at <= last + MIN && at % MIN === 0, `clicked bucket ${at}`);
    await page.getByTestId('posts-empty').waitFor({ timeout: 5_000 });
  });

  it('fits a phone screen', async () => {
    const phone = await context.newPage();
    const phoneProblems = watchConsole(phone);
    await phone.setViewportSize({ width: 375, height: 812 });
    await phone.goto(`${base}/?topic=storm%20watch`);
    await phone.getByTestId('chart').locator('.recharts-line').first().waitFor({ timeout: 15_000 });
    await phone.getByTestId('alert-item').first().waitFor({ timeout: 5_000 });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
    await phone.screenshot({ path: join(ARTIFACTS, 'phone.png'), fullPage: true });
    await phone.close();
    assert.deepEqual(phoneProblems, []);
  });

  it('plays a replay: progress, state, chart and replayed alerts arrive live', async () => {
    await page.goto(`${base}/replay`);
    await page.getByTestId('replay-idle').waitFor();
    await page.getByTestId('replay-speed').selectOption('max');
    await page.getByTestId('replay-topic').selectOption('storm watch');
    await page.getByTestId('replay-start').click();
    await page.getByTestId('replay-state').filter({ hasText: 'running' }).waitFor({ timeout: 5_000 });
    assert.equal(fake.replayStarts.length, 1);
    const request = fake.replayStarts[0];
    assert.ok(request !== undefined);
    assert.equal(request.topic, 'storm watch');
    assert.equal(request.speed, 'max');
    assert.ok(Math.abs(request.to - request.from - 60 * MIN) <= MIN, 'defaults to the last hour');
    const id = 'r1';
    const from = request.from;
    const status = fake.replays.get(id);
    assert.ok(status !== undefined);

    // Drive the replay the way the trends service would: buckets, an alert, progress, then done.
    for (let i = 0; i < 30; i++) fake.putPoint('storm watch', '1m', makePoint(Math.floor(from / MIN) * MIN + i * MIN, 80, { scared: i > 20 ? 0.4 : 0.1 }), id);
    fake.setReplay({ ...status, progress: 0.5, cursor: from + 30 * MIN, processed: 2400 });
    await page.locator('[data-testid="replay-progress"][aria-valuenow="50"]').waitFor({ timeout: 5_000 });
    await page.locator('[data-testid="chart"][data-points="30"]').waitFor({ timeout: 5_000 });
    fake.addAlert(makeAlert({ id: 'replayed-1', topic: 'storm watch', emotion: 'scared', replayId: id, window: { size: '1m', start: from + 22 * MIN, end: from + 23 * MIN } }));
    fake.addAlert(makeAlert({ id: 'other-replay', topic: 'storm watch', emotion: 'sad', replayId: 'r-other' }));
    await page.getByTestId('alert-item').waitFor({ timeout: 5_000 });

    await page.getByTestId('replay-pause').click();
    await page.getByTestId('replay-state').filter({ hasText: 'paused' }).waitFor({ timeout: 5_000 });
    await page.getByTestId('replay-resume').click();
    await page.getByTestId('replay-state').filter({ hasText: 'running' }).waitFor({ timeout: 5_000 });

    fake.setReplay({ ...status, state: 'done', progress: 1, cursor: request.to, processed: 4800, alerts: 1, finishedAt: Date.now() });
    await page.getByTestId('replay-state').filter({ hasText: 'done' }).waitFor({ timeout: 5_000 });
    assert.equal(await page.getByTestId('replay-progress').getAttribute('aria-valuenow'), '100');
    assert.deepEqual(await page.getByTestId('alert-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-alert-id'))), ['replayed-1']);
    await page.waitForFunction(() => Math.abs((document.querySelector<HTMLElement>('.progress-fill')?.getBoundingClientRect().width ?? 0) - (document.querySelector<HTMLElement>('.progress')?.clientWidth ?? -9)) < 1);
    await page.screenshot({ path: join(ARTIFACTS, 'replay.png'), fullPage: true });
  });

  it('logged no browser console errors', () => {
    assert.deepEqual(problems, []);
  });
});
