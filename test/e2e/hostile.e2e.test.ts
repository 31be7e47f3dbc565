/**
 * Hostile input catalogue, in the browser (docs/hostile-inputs.md): posts and a topic name carrying `<script>`,
 * `onerror=` and `javascript:` are planted in the real trends service (in-memory bus and store) behind the real
 * dashboard server, then the pages that show them are opened in Debian's headless Chromium. Nothing may run — no
 * dialog, no page error, no marker set on window — and the words must show as the literal text they are. RTL,
 * zero-width and emoji-only captions must show unchanged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createMemoryBus, type Bus, type Producer } from '@moodstream/bus';
import { createLogger, createMetricsRegistry } from '@moodstream/core';
import { TOPICS, type ScoredPostInput } from '@moodstream/events';
import { createMemoryTrendsStore, createTrendsService, trendsConfig, type TrendsService } from '@moodstream/trends';
import { createDashboardApp, type DashboardApp } from '../../apps/dashboard/src/app';
import { dashboardConfig } from '../../apps/dashboard/src/config';
import { launchHeadlessChromium, watchConsole } from '../../apps/dashboard/test/support/browser';
import { probabilitiesFor } from '../../apps/dashboard/test/support/scored-posts';

const MIN = 60_000;
/** A topic name is a normalised tag: lower case, single spaces — and here, markup with an event handler. */
const TOPIC = '<img src=x onerror=window.__pwned=1;alert(1)>';
const CAPTIONS = {
  script: '<script>window.__pwned = 2; alert(2)</script> scripts are just words here',
  onerror: '<img src=x onerror="window.__pwned = 3; alert(3)"><svg onload="alert(4)"></svg> broken image words',
  link: '<a href="javascript:window.__pwned=5;alert(5)">click me</a> javascript:alert(6)',
  rtl: 'שלום \u202Eevil.exe\u202C مرحبا zero\u200Bwidth\u200D\uFEFFtext',
  emoji: '😱😱😱👨‍👩‍👧‍👦🏳️‍🌈',
} as const;
const EMOTIONS_BY_KIND = { script: 'happy', onerror: 'sad', link: 'angry', rtl: 'surprised', emoji: 'scared' } as const;

describe('hostile text in a real browser', { timeout: 300_000 }, () => {
  const logger = createLogger('hostile-e2e', { level: 'warn' });
  let bus: Bus;
  let producer: Producer;
  let trends: TrendsService;
  let app: DashboardApp;
  let base: string;
  let browser: Awaited<ReturnType<typeof launchHeadlessChromium>>;
  let page: Page;
  let problems: string[];
  const dialogs: string[] = [];
  let minute: number;

  const until = async (check: () => Promise<boolean>, what: string, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    bus = createMemoryBus();
    producer = await bus.producer();
    trends = createTrendsService({
      bus,
      store: createMemoryTrendsStore(),
      logger,
      config: trendsConfig({ TRENDS_SERIES_PUSH_MS: 100, TRENDS_ALLOWED_LATENESS_MS: 3_600_000, TRENDS_IDLE_WATERMARK_LAG_MS: 3_600_000, TRENDS_CONFUSION_PATH: '/nonexistent/confusion.json' }),
      topics: { scored: TOPICS.scored, alerts: TOPICS.alerts, posts: TOPICS.posts, deadLetter: TOPICS.deadLetter },
      groupId: 'hostile-e2e',
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

    minute = Math.floor(Date.now() / MIN) * MIN - 2 * MIN;
    const posts: ScoredPostInput[] = Object.entries(CAPTIONS).map(([kind, text], i) => {
      const top = EMOTIONS_BY_KIND[kind as keyof typeof CAPTIONS];
      return {
        postId: `hostile-${kind}`,
        topics: [TOPIC],
        timestamp: minute + 1_000 * (i + 1),
        probabilities: probabilitiesFor(top),
        topEmotion: top,
        modality: 'both',
        explicit: 0.01,
        modelVersion: 'hostile-e2e',
        latencies: {},
        scoredAt: minute + 1_000 * (i + 1) + 500,
        text,
        // Valid URLs to zod, and executable: the page must neither link nor load them.
        imageUrl: 'javascript:window.__pwned=7',
        url: 'javascript:window.__pwned=8',
      };
    });
    await producer.send(TOPICS.scored, 'ScoredPost', posts.map((value) => ({ key: value.postId, value, timestamp: value.timestamp })));
    await until(async () => (await trends.series({ topic: TOPIC, window: '1m', from: minute, to: minute + MIN })).points[0]?.count === posts.length, 'the planted posts to be aggregated');

    browser = await launchHeadlessChromium();
    page = await browser.context.newPage();
    problems = watchConsole(page);
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
    await trends?.stop();
    await producer?.close();
    await bus?.close();
  });

  const pwned = () => page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);

  it('captions with <script>, onerror= and javascript: show as literal text and run nothing', async () => {
    await page.goto(`${base}/?topic=${encodeURIComponent(TOPIC)}&at=${minute}&posts=1`);
    await until(async () => (await page.getByTestId('post-item').count()) === Object.keys(CAPTIONS).length, 'every planted post in the drill-down');
    for (const [kind, text] of Object.entries(CAPTIONS)) {
      const item = page.locator(`[data-testid="post-item"][data-post-id="hostile-${kind}"]`);
      assert.equal(await item.getByTestId('post-text').textContent(), text, `${kind} shows exactly as written`);
    }
    // Markup in captions made no elements, and the executable URLs were neither linked nor loaded.
    assert.equal(await page.locator('[data-testid="post-text"] *').count(), 0);
    assert.equal(await page.locator('img[src="x"], img[src^="javascript:"], svg[onload], [onerror]').count(), 0);
    assert.equal(await page.locator('a[href^="javascript:"]').count(), 0);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await pwned(), undefined, 'no planted script ran');
    assert.deepEqual(dialogs, []);
  });

  it('a topic name with markup shows as text in the picker and the page', async () => {
    await page.goto(`${base}/?topic=${encodeURIComponent(TOPIC)}`);
    const option = page.getByTestId('topic-picker').locator('option').filter({ hasText: TOPIC });
    await until(async () => (await option.count()) > 0, 'the hostile topic in the picker');
    assert.equal(await page.getByTestId('topic-picker').inputValue(), TOPIC);
    assert.ok((await page.locator('body').innerText()).includes(TOPIC), 'the topic name is on the page as text');
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await pwned(), undefined);
    assert.deepEqual(dialogs, []);
  });

  it('no page errors', () => {
    assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), []);
  });
});
