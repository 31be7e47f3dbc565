import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { createMemoryBus, type Bus, type Producer } from '@moodstream/bus';
import { createLogger, createMetricsRegistry } from '@moodstream/core';
import { TOPICS, type ScoredPostInput } from '@moodstream/events';
import { createMemoryTrendsStore, createTrendsService, trendsConfig, type TrendsService } from '@moodstream/trends';
import { createDashboardApp, type DashboardApp } from '../src/app';
import { dashboardConfig } from '../src/config';
import { launchHeadlessChromium, watchConsole } from './support/browser';
import { CALM, minuteOfPosts, scoredPost, seededRandom } from './support/scored-posts';

/**
 * The dashboard in a real headless Chromium, against its real server and the real trends service on the in-memory
 * bus and store, fed ScoredPosts: live chart updates, a spike alert arriving in the feed, the posts drill-down's
 * safety rules, a replay played through the UI, phone width, and no console errors. (The full pipeline from the demo
 * stream through the scorer is the repository's test/e2e.)
 */

const MIN = 60_000;
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts/dashboard');
const HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> the sky is falling';
const SPIKE = { ...CALM, scared: 2.4 };

describe('dashboard in a browser, on the real trends service', { timeout: 300_000 }, () => {
  const logger = createLogger('dashboard-e2e', { level: 'warn' });
  const random = seededRandom(7);
  let bus: Bus;
  let producer: Producer;
  let trends: TrendsService;
  let app: DashboardApp;
  let base: string;
  let images: Server;
  let imageBase: string;
  let browser: Awaited<ReturnType<typeof launchHeadlessChromium>>;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  /** Start of the current minute when the stream was planned; history runs up to it. */
  let m0: number;
  let nightSkyMinute: number;

  const publish = async (posts: ScoredPostInput[]) => {
    for (let i = 0; i < posts.length; i += 500) {
      await producer.send(TOPICS.scored, 'ScoredPost', posts.slice(i, i + 500).map((value) => ({ key: value.postId, value, timestamp: value.timestamp })));
    }
  };
  /**
   * Publishes minutes `toMinute`…`fromMinute` ago in order, one minute at a time, each fully aggregated before the
   * next is sent — the way a live stream arrives (a burst of many minutes at once would let one partition's newest
   * post move the watermark past windows other partitions have not delivered yet).
   */
  const publishMinutes = async (fromMinute: number, toMinute: number, spike: (minute: number) => boolean) => {
    for (let k = toMinute; k >= fromMinute; k--) {
      const start = m0 - k * MIN;
      await publish([...minuteOfPosts('storm watch', start, 40, spike(k) ? SPIKE : CALM, random), ...minuteOfPosts('cats', start, 15, CALM, random)]);
      await until(async () => (await trends.series({ topic: 'cats', window: '1m', from: start, to: start + MIN })).points[0]?.count === 15 && (await trends.series({ topic: 'storm watch', window: '1m', from: start, to: start + MIN })).points[0]?.count === 40, `minute -${k} to be aggregated`);
    }
  };
  const until = async (check: () => boolean | Promise<boolean>, what: string, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    images = createServer((req, res) => {
      // Another site's page (127.0.0.1 is not the same site as localhost) that makes the visitor's browser post a form.
      if ((req.url ?? '').startsWith('/csrf.html')) {
        const target = new URL(req.url ?? '', 'http://x').searchParams.get('target') ?? '';
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(`<form method="POST" action="${target.replace(/"/g, '&quot;')}"><input name="x" value="1"></form><script>document.forms[0].submit()</script>`);
        return;
      }
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      res.end(`<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><rect width="96" height="96" fill="#4c8dff"/><text x="12" y="56" fill="#fff" font-size="18">${req.url === '/explicit.svg' ? 'NSFW' : 'sky'}</text></svg>`);
    });
    await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
    imageBase = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;

    bus = createMemoryBus();
    producer = await bus.producer();
    trends = createTrendsService({
      bus,
      store: createMemoryTrendsStore(),
      logger,
      config: trendsConfig({
        TRENDS_SERIES_PUSH_MS: 100,
        TRENDS_ALERT_SETTLE_MS: 0,
        TRENDS_ALERT_WARMUP_WINDOWS: 5,
        // History arrives in bursts: the idle clock must not close windows ahead of the data.
        TRENDS_IDLE_WATERMARK_LAG_MS: 3 * 3_600_000,
        TRENDS_ALLOWED_LATENESS_MS: 3_600_000,
        TRENDS_CONFUSION_PATH: '/nonexistent/confusion.json',
      }),
      topics: { scored: TOPICS.scored, alerts: TOPICS.alerts, posts: TOPICS.posts, deadLetter: TOPICS.deadLetter },
      groupId: 'dashboard-e2e',
    });
    await trends.start();
    app = createDashboardApp({
      config: dashboardConfig({ PORT: 0, DASHBOARD_PUSH_INTERVAL_MS: 50 }),
      logger,
      trends,
      ops: { registry: createMetricsRegistry('dashboard', { defaultMetrics: false }), health: () => ({ ok: true }) },
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    base = (await app.start()).url;

    // Calm history from 40 to 13 minutes ago, plus three posts in their own quiet topic for the drill-down checks.
    m0 = Math.floor(Date.now() / MIN) * MIN;
    nightSkyMinute = m0 - 20 * MIN;
    await publishMinutes(21, 40, () => false);
    await publish([
      scoredPost({ id: 'p-hostile', topic: 'night sky', timestamp: nightSkyMinute + 1_000, top: 'scared', text: HOSTILE, imageUrl: `${imageBase}/safe.svg`, explicit: 0.02 }),
      scoredPost({ id: 'p-explicit', topic: 'night sky', timestamp: nightSkyMinute + 2_000, top: 'scared', text: 'hiding under the blanket', imageUrl: `${imageBase}/explicit.svg`, explicit: 0.93 }),
      scoredPost({ id: 'p-text', topic: 'night sky', timestamp: nightSkyMinute + 3_000, top: 'happy', text: 'stars are out' }),
    ]);
    await publishMinutes(13, 20, () => false);

    browser = await launchHeadlessChromium();
    context = browser.context;
    page = await context.newPage();
    problems = watchConsole(page);
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
    await trends?.stop();
    await producer?.close();
    await bus?.close();
    await new Promise<void>((r) => images?.close(() => r()));
  });

  it('draws the history, then moves the newest point and raises the spike alert live as posts arrive', async () => {
    await page.goto(`${base}/?topic=storm%20watch`);
    const chart = page.getByTestId('chart');
    await chart.locator('.recharts-line').last().waitFor({ timeout: 15_000 });
    assert.equal(await chart.getAttribute('data-points'), '28');
    assert.equal(await page.getByTestId('chart-latest-time').getAttribute('data-start'), String(m0 - 13 * MIN));
    await page.getByTestId('alerts-empty').waitFor();
    await page.locator('[data-testid="connection"][data-connected="true"]').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'live-before.png') });

    // Twelve more minutes; "scared" quadruples on storm watch from 12 to 9 minutes ago.
    await publishMinutes(2, 12, (k) => k >= 9);
    await page.locator(`[data-testid="chart-latest-time"][data-start="${m0 - 2 * MIN}"]`).waitFor({ timeout: 5_000 });
    const sentAt = Date.now();
    await publish([...minuteOfPosts('storm watch', m0 - MIN, 40, CALM, random), ...minuteOfPosts('cats', m0 - MIN, 15, CALM, random)]);
    await page.locator(`[data-testid="chart-latest-time"][data-start="${m0 - MIN}"]`).waitFor({ timeout: 5_000 });
    const moved = Date.now() - sentAt;
    assert.ok(moved < 5_000, `the newest point moved ${moved} ms after the posts were sent`);
    process.stderr.write(`newest point moved ${moved} ms after its posts were published\n`);
    assert.equal(await chart.getAttribute('data-points'), '40');

    const item = page.getByTestId('alert-item').first();
    await item.waitFor({ timeout: 10_000 });
    assert.equal(await item.getAttribute('data-topic'), 'storm watch');
    assert.equal(await item.getAttribute('data-emotion'), 'scared');
    assert.equal(await page.getByTestId('alert-item').count(), 1, 'exactly one alert for the one planted spike');
    await item.evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)));
    await page.screenshot({ path: join(ARTIFACTS, 'live-alert.png') });
  });

  it('links the alert to its moment on the chart and its example posts, and acknowledges it', async () => {
    const item = page.getByTestId('alert-item').first();
    const alertId = await item.getAttribute('data-alert-id');
    assert.ok(alertId !== null);
    await item.getByTestId('alert-show').click();
    await page.locator('.recharts-reference-area').first().waitFor({ timeout: 5_000 });
    const at = Number(new URL(page.url()).searchParams.get('at'));
    assert.ok(at >= m0 - 12 * MIN && at <= m0 - 8 * MIN, `the alert's window ${new Date(at).toISOString()} lies in the planted spike`);

    await item.getByTestId('alert-posts').click();
    await page.getByTestId('post-item').first().waitFor({ timeout: 10_000 });
    assert.equal(new URL(page.url()).searchParams.get('emotion'), 'scared');
    const tops = await page.getByTestId('post-item').evaluateAll((els) => els.length);
    assert.ok(tops > 0);

    await item.getByTestId('alert-ack').click();
    await item.getByTestId('alert-acked').waitFor({ timeout: 5_000 });
    const stored = await trends.alerts({ limit: 10 });
    assert.equal(stored.find((a) => a.id === alertId)?.acknowledged, true, 'acknowledged in the store, not just on screen');
  });

  it('renders user text as text and hides explicit images until asked', async () => {
    await page.goto(`${base}/?topic=night%20sky&at=${nightSkyMinute}&posts=1`);
    await page.getByTestId('post-item').first().waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('post-item').count(), 3);
    const texts = await page.getByTestId('post-text').allTextContents();
    assert.ok(texts.includes(HOSTILE), `the caption shows literally, tags and all: ${JSON.stringify(texts)}`);
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined, 'no user script ran');
    assert.equal(await page.locator('.post-list script, .post-list img[src="x"]').count(), 0);

    const explicit = page.locator('[data-post-id="p-explicit"]');
    await explicit.getByTestId('explicit-hidden').waitFor();
    assert.equal(await explicit.locator('img').count(), 0, 'the hidden image is not even requested');
    await page.locator('[data-post-id="p-hostile"] img[data-testid="post-image"]').waitFor({ timeout: 5_000 });
    assert.equal(await explicit.getByTestId('explicit-hidden').getAttribute('data-reason'), 'explicit');
    await page.getByTestId('posts-panel').screenshot({ path: join(ARTIFACTS, 'posts.png') });
    await explicit.getByTestId('show-explicit').click();
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-post-id="p-explicit"] img');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
  });

  it('opens the posts of a bucket clicked on the chart', async () => {
    await page.goto(`${base}/?topic=storm%20watch`);
    await page.getByTestId('chart').locator('.recharts-line').last().waitFor({ timeout: 15_000 });
    const surface = page.getByTestId('chart').locator('.recharts-surface').first();
    const box = await surface.boundingBox();
    assert.ok(box !== null);
    await surface.click({ position: { x: box.width * 0.8, y: box.height * 0.5 } });
    await page.getByTestId('post-item').first().waitFor({ timeout: 5_000 });
    const at = Number(new URL(page.url()).searchParams.get('at'));
    assert.ok(at >= m0 - 40 * MIN && at < m0 && at % MIN === 0, `clicked bucket ${at}`);
  });

  it('fits a phone screen', async () => {
    const phone = await context.newPage();
    const phoneProblems = watchConsole(phone);
    await phone.setViewportSize({ width: 375, height: 812 });
    await phone.goto(`${base}/?topic=storm%20watch`);
    await phone.getByTestId('chart').locator('.recharts-line').last().waitFor({ timeout: 15_000 });
    await phone.getByTestId('alert-item').first().waitFor({ timeout: 5_000 });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await phone.screenshot({ path: join(ARTIFACTS, 'phone.png'), fullPage: true });
    await phone.goto(`${base}/replay`);
    await phone.getByTestId('replay-idle').waitFor();
    const replayOverflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(replayOverflow <= 0, `the replay page is ${replayOverflow}px wider than the phone`);
    await phone.screenshot({ path: join(ARTIFACTS, 'phone-replay.png'), fullPage: true });
    await phone.close();
    assert.deepEqual(phoneProblems, []);
  });

  it('plays a replay through the UI: pause, resume, progress to the end, chart and replayed alert', async () => {
    await page.goto(`${base}/replay`);
    await page.getByTestId('replay-idle').waitFor();
    await page.getByTestId('replay-topic').selectOption('storm watch');
    const local = (ms: number) => new Date(ms - new Date(ms).getTimezoneOffset() * MIN).toISOString().slice(0, 16);
    await page.getByTestId('replay-from').fill(local(m0 - 41 * MIN));
    await page.getByTestId('replay-to').fill(local(m0));
    // 41 minutes at 300× is about 8 s: slow enough to pause, quick enough for a test.
    await page.getByTestId('replay-speed').selectOption('600');
    await page.getByTestId('replay-start').click();
    await page.getByTestId('replay-state').filter({ hasText: 'running' }).waitFor({ timeout: 5_000 });
    await page.getByTestId('replay-pause').click();
    await page.getByTestId('replay-state').filter({ hasText: 'paused' }).waitFor({ timeout: 5_000 });
    const pausedAt = Number(await page.getByTestId('replay-progress').getAttribute('data-progress'));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(Number(await page.getByTestId('replay-progress').getAttribute('data-progress')), pausedAt, 'a paused replay stays put');
    await page.getByTestId('replay-resume').click();
    await page.getByTestId('replay-state').filter({ hasText: 'done' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('replay-progress').getAttribute('aria-valuenow'), '100');
    await until(async () => Number(await page.getByTestId('chart').getAttribute('data-points')) >= 39, 'the replayed chart', 5_000);
    const replayed = page.getByTestId('alert-item');
    await replayed.first().waitFor({ timeout: 5_000 });
    assert.equal(await replayed.first().getAttribute('data-emotion'), 'scared');
    await page.waitForFunction(() => Math.abs((document.querySelector('.progress-fill')?.getBoundingClientRect().width ?? 0) - (document.querySelector('.progress')?.clientWidth ?? -9)) < 1);
    await page.screenshot({ path: join(ARTIFACTS, 'replay.png'), fullPage: true });
  });

  it('refuses a form another site makes the operator\'s browser post, even on loopback', async () => {
    const held = await trends.startReplay({ topic: 'storm watch', from: m0 - 41 * MIN, to: m0, speed: 1, rescore: false });
    // Its own tab: the refusal is a failed load that the main page's console check must not see.
    const other = await context.newPage();
    try {
      await other.goto(`${imageBase}/csrf.html?target=${encodeURIComponent(`${base}/api/replays/${held.id}/stop`)}`);
      await other.waitForURL((url) => url.href.startsWith(`${base}/api/`), { timeout: 10_000 });
      assert.match((await other.textContent('body')) ?? '', /FORBIDDEN/);
      assert.equal((await trends.replayStatus(held.id))?.state, 'running', 'the cross-site form did not stop the replay');
    } finally {
      await other.close();
      await trends.stopReplay(held.id);
      await trends.waitForReplay(held.id);
    }
  });

  it('shows a readable message when an action is refused (a replay over the concurrency limit)', async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => trends.startReplay({ topic: 'storm watch', from: m0 - 41 * MIN, to: m0, speed: 1, rescore: false })));
    const other = await context.newPage();
    try {
      await other.goto(`${base}/replay`);
      await other.getByTestId('replay-idle').waitFor();
      await other.getByTestId('replay-start').click();
      const error = other.getByTestId('replay-error');
      await error.waitFor({ timeout: 5_000 });
      assert.match((await error.textContent()) ?? '', /4 replays are already running or paused here \(at most 4\): stop one or wait for one to finish/);
      await other.screenshot({ path: join(ARTIFACTS, 'replay-refused.png') });
    } finally {
      await other.close();
      for (const status of held) await trends.stopReplay(status.id);
      await Promise.all(held.map((status) => trends.waitForReplay(status.id)));
    }
  });

  it('asks the operator for the token where the server requires one: dismissed, a readable refusal; entered, the action goes through', async () => {
    const token = 'e2e-operator-token-0123456789';
    const guarded = createDashboardApp({
      config: dashboardConfig({ PORT: 0, DASHBOARD_PUSH_INTERVAL_MS: 50, DASHBOARD_OPERATOR_TOKEN: token }),
      logger,
      trends,
      ops: { registry: createMetricsRegistry('dashboard', { defaultMetrics: false }), health: () => ({ ok: true }) },
    });
    const guardedBase = (await guarded.start()).url;
    const other = await context.newPage();
    try {
      await other.goto(`${guardedBase}/replay`);
      await other.getByTestId('replay-start').waitFor({ timeout: 15_000 });
      other.once('dialog', (dialog) => void dialog.dismiss());
      await other.getByTestId('replay-start').click();
      const error = other.getByTestId('replay-error');
      await error.waitFor({ timeout: 5_000 });
      assert.match((await error.textContent()) ?? '', /this action needs the operator token/);
      assert.equal((await trends.listReplays()).filter((r) => r.state === 'running').length, 0, 'nothing started');

      const prompts: string[] = [];
      other.on('dialog', (dialog) => {
        prompts.push(dialog.message());
        void dialog.accept(token);
      });
      await other.getByTestId('replay-start').click();
      await other.getByTestId('replay-state').filter({ hasText: 'running' }).waitFor({ timeout: 10_000 });
      const running = (await trends.listReplays()).find((r) => r.state === 'running');
      assert.ok(running !== undefined, 'started on the server');
      await other.getByTestId('replay-stop').click();
      await until(async () => (await trends.replayStatus(running.id))?.state === 'stopped', 'the replay to stop', 10_000);
      assert.equal(prompts.length, 1, 'asked once; the token is kept for the next action');
      assert.match(prompts[0] ?? '', /DASHBOARD_OPERATOR_TOKEN/);
    } finally {
      await other.close();
      await guarded.stop();
    }
  });

  it('marks the moment a new model version starts scoring the topic on the chart, live and after a reload', async () => {
    await page.goto(`${base}/?topic=cats`);
    await page.getByTestId('chart').locator('.recharts-line').last().waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="connection"][data-connected="true"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('chart-model-version').count(), 0, 'one model so far: nothing to mark');
    const minute = Math.floor(Date.now() / MIN) * MIN - MIN;
    await publish(minuteOfPosts('cats', minute, 5, CALM, random).map((post) => ({ ...post, modelVersion: 'e2e-next' })));
    const marker = page.locator('[data-testid="chart-model-version"][data-version="e2e-next"]');
    await marker.waitFor({ timeout: 10_000 });
    assert.equal(await marker.getAttribute('data-previous'), 'e2e-test');
    await page.reload();
    await marker.waitFor({ timeout: 15_000 });
    assert.equal(await page.getByTestId('chart-model-version').count(), 1);
    await page.screenshot({ path: join(ARTIFACTS, 'model-version-marker.png') });
  });

  it('logged no browser console errors', () => {
    assert.deepEqual(problems, []);
  });
});
