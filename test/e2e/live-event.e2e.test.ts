/**
 * Following a live event in a real browser, on the embedded stack as `npm start` builds it with a Tumblr API key —
 * polling the project's local Tumblr stand-in (no network) — with the shipped model, the trends aggregator and the
 * dashboard, driven by Debian's headless Chromium (the harness of dashboard.e2e.test.ts). Screenshots go to
 * test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createLogger, seededRandom } from '@moodstream/core';
import { EMOTIONS, SeriesResponseSchema, WatchedTopicsResponseSchema, bucketStart, type ScoredPostInput } from '@moodstream/events';
import { STANDIN_DEFAULT_KEY, generateTaggedPosts, startTumblrStandIn, type TumblrStandIn } from '@moodstream/tumblr';
import { launchHeadlessChromium, watchConsole, type HeadlessBrowser } from '../../apps/dashboard/test/support/browser';
import { parseStartConfig } from '../../scripts/start/config';
import { startEmbeddedStack, type EmbeddedStack } from '../../scripts/start/embedded';
import { REPO_ROOT } from '../../scripts/start/paths';
import { createProgress } from '../../scripts/start/progress';

const ARTIFACTS = resolve(REPO_ROOT, 'test-artifacts/e2e');
const suffix = Math.random().toString(36).slice(2, 7);
/** The tag an operator adds during the event: typed with a '#' and capitals, watched as its normalised form. */
const TYPED_TAG = `#E2E Final ${suffix}`;
const TAG = `e2e final ${suffix}`;
const MINUTE = 60_000;

let standIn: TumblrStandIn;
let stack: EmbeddedStack;
let stateDir: string;
let browser: HeadlessBrowser;
let viewer: HeadlessBrowser;
let page: Page;
const consoleErrors: string[] = [];

const shot = (p: Page, name: string) => p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
// A refusal the page shows on purpose (the server's 409 for an over-budget tag) is logged by Chromium as a failed resource.
const watchErrors = (p: Page) => watchConsole(p, { ignore: /status of 409/, into: consoleErrors });

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  stateDir = await mkdtemp(join(tmpdir(), 'moodstream-live-event-'));
  // The stand-in holds the last half hour of the new tag (and of the emotion tags the ingester starts with).
  const { posts } = generateTaggedPosts({ tags: [...EMOTIONS, TAG], perTag: 30, newestTimestamp: Math.floor(Date.now() / 1000), spacingSeconds: 8, formats: ['legacy-text'] });
  standIn = await startTumblrStandIn({ posts });
  const env = {
    ...process.env,
    TUMBLR_API_URL: standIn.url,
    INGEST_STATE_FILE: join(stateDir, 'ingester-state.jsonl'),
    INGEST_POLL_INTERVAL_MS: '3000',
    INGEST_BUDGET_PER_HOUR: '20000',
    INGEST_BUDGET_PER_DAY: '400000',
    // The planted spike below is written ahead of the clock; nothing the stand-in serves is older than an hour.
    TRENDS_ALLOWED_LATENESS_MS: String(2 * 3_600_000),
  };
  stack = await startEmbeddedStack({
    config: parseStartConfig({ PORT: '0', LOG_LEVEL: 'warn', TUMBLR_API_KEY: STANDIN_DEFAULT_KEY }),
    progress: createProgress({ write: (line) => process.stderr.write(`${line}\n`) }),
    logger: createLogger('e2e', { level: 'warn' }),
    env,
  });
  browser = await launchHeadlessChromium();
  viewer = await launchHeadlessChromium();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  watchErrors(page);
});

after(async () => {
  await viewer?.close();
  await browser?.close();
  await stack?.close();
  await standIn?.close();
  if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
});

/** Scored posts for one topic, one minute each: `baseline` quiet minutes, then `spike` minutes where angry triples. */
function plantedStream(topic: string, start: number, minutes: { baseline: number; spike: number; after: number }): ScoredPostInput[] {
  const random = seededRandom(5);
  const out: ScoredPostInput[] = [];
  const total = minutes.baseline + minutes.spike + minutes.after;
  for (let m = 0; m < total; m++) {
    const spiking = m >= minutes.baseline && m < minutes.baseline + minutes.spike;
    for (let i = 0; i < 60; i++) {
      const base = spiking ? [0.25, 0.1, 0.45, 0.1, 0.05, 0.05] : [0.45, 0.15, 0.15, 0.1, 0.1, 0.05];
      const noisy = base.map((p) => p * (0.8 + 0.4 * random()));
      const sum = noisy.reduce((a, b) => a + b, 0);
      const probabilities = noisy.map((p) => p / sum);
      const timestamp = start + m * MINUTE + i * 900;
      out.push({
        postId: `${topic}-${m}-${i}`,
        topics: [topic],
        timestamp,
        probabilities,
        topEmotion: EMOTIONS[probabilities.indexOf(Math.max(...probabilities))] ?? 'happy',
        modality: 'text',
        explicit: null,
        modelVersion: 'e2e-planted',
        latencies: {},
        scoredAt: timestamp,
        text: `planted ${m} ${i}`,
        imageUrl: null,
        url: null,
      });
    }
  }
  return out;
}

describe('following a live event (embedded stack with a live ingester on the Tumblr stand-in, headless Chromium)', { timeout: 10 * 60_000 }, () => {
  it('adds a tag from the UI: budget shown, the stand-in polled for it, its chart filled within a minute', async () => {
    await page.goto(stack.url);
    await page.getByTestId('connection').and(page.locator('[data-connected="true"]')).waitFor({ timeout: 30_000 });
    // The ingester reports its budget each poll: the panel says what one more tag costs before it is added.
    await page.getByTestId('budget').waitFor({ timeout: 30_000 });
    assert.match((await page.getByTestId('budget-cost').textContent()) ?? '', /one more tag costs ~\d+ requests\/hour/);
    const added = Date.now();
    await page.getByTestId('topic-input').fill(TYPED_TAG);
    await page.getByTestId('topic-add').click();
    await page.locator(`[data-testid="watched-topic"][data-tag="${TAG}"]`).waitFor({ timeout: 10_000 });
    // The page opened the new topic; its chart fills from the tag's last hour, walked first.
    assert.equal(new URL(page.url()).searchParams.get('topic'), TAG);
    await page.locator('[data-testid="chart"][data-state="ready"]:not([data-points="0"])').waitFor({ timeout: 60_000 });
    const filledMs = Date.now() - added;
    const polls = standIn.requestLog.filter((r) => r.tag === TAG && r.status === 200);
    assert.ok(polls.length >= 1, 'the stand-in was asked for the new tag');
    const stored = WatchedTopicsResponseSchema.parse(await (await fetch(`${stack.url}/api/topics/watched`)).json()).topics.find((t) => t.tag === TAG);
    assert.ok(stored !== undefined);
    const firstPollMs = (polls[0]?.at ?? Infinity) - stored.addedAt;
    process.stderr.write(`live-event e2e: #${TAG} first polled ${firstPollMs} ms after it was stored, chart filled ${filledMs} ms after the click\n`);
    // Re-read within one poll interval (3 s here), then asked at the ingester's next turn (after the page in hand).
    assert.ok(firstPollMs <= 2 * 3_000, `polled within one poll interval and a turn (${firstPollMs} ms)`);
    const series = SeriesResponseSchema.parse(await (await fetch(`${stack.url}/api/series?topic=${encodeURIComponent(TAG)}&window=1h`)).json());
    assert.ok(series.points.reduce((n, p) => n + p.count, 0) >= 20, 'the backfilled hour is in the API too');
    // Typed again in another spelling: refused as already watched, with the reason on the page.
    await page.getByTestId('topic-input').fill(TAG.toUpperCase());
    await page.getByTestId('topic-add').click();
    await page.getByTestId('topic-error').filter({ hasText: /already watched/ }).waitFor({ timeout: 5_000 });
    await shot(page, 'live-event-topic-added');
  });

  it('compares two topics on one time axis, and the URL reproduces the view', async () => {
    // Everything the ingester produced so far is scored (on a loaded machine the scorer may trail the chart's topic).
    await stack.caughtUp(120_000);
    await page.goto(`${stack.url}/?topic=happy`);
    await page.getByTestId('compare-picker').locator(`option[value="${TAG}"]`).waitFor({ state: 'attached', timeout: 15_000 });
    await page.getByTestId('compare-picker').selectOption(['happy', TAG]);
    await page.getByTestId('compare-view').waitFor({ timeout: 5_000 });
    const url = new URL(page.url());
    assert.deepEqual(url.searchParams.getAll('compare'), ['happy', TAG]);
    const other = await viewer.context.newPage();
    watchErrors(other);
    try {
      await other.goto(url.toString());
      for (const topic of ['happy', TAG]) {
        await other.locator(`[data-testid="compare-chart"][data-topic="${topic}"][data-state="ready"]:not([data-points="0"])`).waitFor({ timeout: 30_000 });
      }
      assert.equal(await other.getByTestId('compare-chart').count(), 2, 'the link shows the same two topics');
      await shot(other, 'live-event-compare');
    } finally {
      await other.close();
    }
  });

  it('a moment marked in one browser shows on the chart of another, live', async () => {
    const label = `kick-off ${suffix}`;
    await page.goto(`${stack.url}/?topic=${encodeURIComponent(TAG)}`);
    const other = await viewer.context.newPage();
    watchErrors(other);
    try {
      await other.goto(`${stack.url}/?topic=${encodeURIComponent(TAG)}`);
      await other.getByTestId('connection').and(other.locator('[data-connected="true"]')).waitFor({ timeout: 30_000 });
      await other.locator('[data-testid="chart"][data-state="ready"]:not([data-points="0"])').waitFor({ timeout: 30_000 });
      await page.getByTestId('moment-input').fill(label);
      await page.getByTestId('moment-when').selectOption('5');
      await page.getByTestId('moment-add').click();
      // No reload in the second browser: the moment arrives over the socket and is drawn on its chart.
      await other.locator(`[data-testid="chart-moment"][data-label="${label}"]`).waitFor({ timeout: 10_000 });
      await other.locator('[data-testid="moment-item"]').filter({ hasText: label }).waitFor({ timeout: 5_000 });
      const listed = (await (await fetch(`${stack.url}/api/moments`)).json()) as { moments: { label: string; at: number }[] };
      const moment = listed.moments.find((m) => m.label === label);
      assert.ok(moment !== undefined && Math.abs(moment.at - (Date.now() - 5 * MINUTE)) < MINUTE, 'kept over the API at the time chosen');
      await shot(other, 'live-event-moment-second-browser');
    } finally {
      await other.close();
    }
  });

  it("a topic's alert rule switched off in the UI stops its planted alert; the same spike on another topic still fires", async () => {
    const ruled = `e2e-ruled-${suffix}`;
    const control = `e2e-control-${suffix}`;
    await page.goto(`${stack.url}/?topic=${ruled}`);
    await page.getByTestId('rules-panel').waitFor({ timeout: 10_000 });
    await page.getByTestId('rule-enabled').uncheck();
    await page.getByTestId('rule-save').click();
    await page.getByTestId('rule-status').filter({ hasText: /applies from the next window/ }).waitFor({ timeout: 5_000 });
    const rules = (await (await fetch(`${stack.url}/api/alert-rules`)).json()) as { rules: { topic: string; enabled: boolean }[] };
    assert.deepEqual(rules.rules.filter((r) => r.topic === ruled).map((r) => r.enabled), [false]);
    const audit = (await (await fetch(`${stack.url}/api/alert-rules/audit?topic=${ruled}`)).json()) as { audit: { who: string; before: unknown; after: { enabled: boolean } }[] };
    assert.equal(audit.audit[0]?.before, null);
    assert.equal(audit.audit[0]?.after.enabled, false);
    assert.match(audit.audit[0]?.who ?? '', /operator/);

    // The same planted stream on both topics, in windows no one has evaluated yet (just ahead of the clock).
    const start = bucketStart(Date.now(), '1m') + 2 * MINUTE;
    const minutes = { baseline: 16, spike: 4, after: 2 };
    const producer = await stack.bus.producer();
    try {
      const planted = [...plantedStream(ruled, start, minutes), ...plantedStream(control, start, minutes)].sort((a, b) => a.timestamp - b.timestamp);
      await producer.send(stack.topics.scored, 'ScoredPost', planted.map((p) => ({ key: p.postId, value: p, timestamp: p.timestamp })));
    } finally {
      await producer.close();
    }
    await page.goto(`${stack.url}/?topic=${control}`);
    await page.locator(`[data-testid="alert-item"][data-topic="${control}"][data-emotion="angry"]`).first().waitFor({ timeout: 60_000 });
    const alerts = (await (await fetch(`${stack.url}/api/alerts?limit=500`)).json()) as { alerts: { topic: string; emotion: string }[] };
    assert.ok(alerts.alerts.some((a) => a.topic === control && a.emotion === 'angry'), 'the control topic fired');
    assert.deepEqual(alerts.alerts.filter((a) => a.topic === ruled), [], 'the topic whose rule is off fired nothing');
    assert.equal(await page.locator(`[data-testid="alert-item"][data-topic="${ruled}"]`).count(), 0);
    await shot(page, 'live-event-rule-off');
  });

  it('downloads the view as CSV (rows match the API), the chart as SVG and PNG, and the alerts as CSV', async () => {
    await page.goto(`${stack.url}/?topic=${encodeURIComponent(TAG)}`);
    await page.locator('[data-testid="chart"][data-state="ready"]:not([data-points="0"])').waitFor({ timeout: 30_000 });
    const href = (await page.getByTestId('export-csv').getAttribute('href')) ?? '';
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
    const csv = await readFile((await download.path()) ?? '', 'utf8');
    const q = new URL(href, stack.url).searchParams;
    const api = SeriesResponseSchema.parse(await (await fetch(`${stack.url}/api/series?${new URLSearchParams({ topic: q.get('topic') ?? '', window: q.get('window') ?? '', from: q.get('from') ?? '', to: q.get('to') ?? '' }).toString()}`)).json());
    const lines = csv.trimEnd().split('\r\n');
    const header = (lines[0] ?? '').split(',');
    assert.deepEqual(header.slice(0, 5), ['bucket_start', 'bucket_start_ms', 'topic', 'window', 'count']);
    assert.ok(header.includes('angry_lo') && header.includes('angry_corrected') && header.at(-1) === 'model_version');
    assert.equal(lines.length - 1, api.points.length, 'one row per bucket');
    assert.ok(api.points.length > 0);
    api.points.forEach((point, i) => {
      const cells = (lines[i + 1] ?? '').split(',');
      assert.equal(Number(cells[1]), point.start);
      assert.equal(cells[2], TAG);
      assert.equal(Number(cells[4]), point.count);
      assert.ok(Math.abs(Number(cells[header.indexOf('happy_share')]) - point.shares.happy.share) < 1e-6);
      assert.ok(Math.abs(Number(cells[header.indexOf('sad_hi')]) - point.shares.sad.hi) < 1e-6);
    });
    const [svgDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-svg').click()]);
    const svg = await readFile((await svgDownload.path()) ?? '', 'utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /recharts-line/);
    const [pngDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-png').click()]);
    const png = await readFile((await pngDownload.path()) ?? '');
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    assert.ok(png.length > 5_000, `a drawn chart, not an empty canvas (${png.length} bytes)`);
    const [alertsDownload] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-alerts-csv').click()]);
    assert.match(await readFile((await alertsDownload.path()) ?? '', 'utf8'), /^id,topic,emotion,window,window_start/);
  });

  it('the browser consoles stayed free of errors', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
