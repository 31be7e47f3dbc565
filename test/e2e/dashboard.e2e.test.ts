/**
 * The whole product in a real browser: the embedded stack exactly as `npm start` builds it (demo
 * stream, scorer with the shipped model, trends aggregator, dashboard) on a free port, driven by
 * Debian's headless Chromium through playwright-core. Screenshots go to test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { createLogger } from '@moodstream/core';
import { EMOTIONS, type PostInput, type ScoredPostInput } from '@moodstream/events';
import { launchHeadlessChromium, watchConsole, type HeadlessBrowser } from '../../apps/dashboard/test/support/browser';
import { parseStartConfig } from '../../scripts/start/config';
import { startEmbeddedStack, type EmbeddedStack } from '../../scripts/start/embedded';
import { REPO_ROOT } from '../../scripts/start/paths';
import { createProgress } from '../../scripts/start/progress';

const ARTIFACTS = resolve(REPO_ROOT, 'test-artifacts/e2e');
const suffix = Math.random().toString(36).slice(2, 8);

let stack: EmbeddedStack;
let browser: HeadlessBrowser;
let page: Page;
let imageServer: Server;
let imageUrl: string;
const consoleErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

function post(topic: string, id: string, text: string, timestamp: number): PostInput {
  return {
    id,
    blog: 'e2e-probe',
    url: `https://e2e-probe.example.com/post/${id}`,
    timestamp,
    topics: [topic],
    tags: [topic],
    text,
    imageUrl: null,
    source: 'live',
    label: null,
    ingestedAt: timestamp,
  };
}

function scored(topic: string, postId: string, text: string, explicit: number, timestamp: number): ScoredPostInput {
  return {
    postId,
    topics: [topic],
    timestamp,
    probabilities: [0.7, 0.1, 0.05, 0.05, 0.05, 0.05],
    topEmotion: EMOTIONS[0],
    modality: 'both',
    explicit,
    modelVersion: 'e2e-injected',
    latencies: {},
    scoredAt: timestamp,
    text,
    imageUrl,
    url: `https://e2e-probe.example.com/post/${postId}`,
  };
}

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  // A real PNG on a loopback server: what the browser loads for the (injected) image posts.
  const png = await sharp({ create: { width: 96, height: 96, channels: 3, background: { r: 200, g: 60, b: 90 } } }).png().toBuffer();
  imageServer = createServer((req, res) => {
    if (req.url === '/probe.png') res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    else res.writeHead(404).end();
  });
  await new Promise<void>((done) => imageServer.listen(0, '127.0.0.1', () => done()));
  imageUrl = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}/probe.png`;

  stack = await startEmbeddedStack({
    // A faster live demo than the default, so the test sees several buckets; the history part is the same.
    config: parseStartConfig({ PORT: '0', DEMO_SPEED: '4', LOG_LEVEL: 'warn' }),
    progress: createProgress({ write: (line) => process.stderr.write(`${line}\n`) }),
    logger: createLogger('e2e', { level: 'warn' }),
  });
  browser = await launchHeadlessChromium();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  watchConsole(page, { into: consoleErrors });
});

after(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise<void>((done) => (imageServer ? imageServer.close(() => done()) : done()));
});

describe('dashboard end to end (embedded stack, headless Chromium)', { timeout: 8 * 60_000 }, () => {
  it("serves the one process runtime's /healthz and /metrics on the dashboard's port", async () => {
    const health = await fetch(`${stack.url}/healthz`);
    assert.equal(health.status, 200);
    const report = (await health.json()) as { ok: boolean; service: string; parts: Record<string, { ok: boolean }> };
    assert.equal(report.service, 'moodstream');
    assert.deepEqual(Object.keys(report.parts), ['bus', 'dashboard', 'trends', 'scorer', 'demo'], 'every part of the stack, in start order');
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    // The same names as in each app's own process, labelled with this process.
    for (const name of ['moodstream_scorer_consumer_lag', 'moodstream_trends_consumer_lag', 'moodstream_dashboard_http_requests_total', 'moodstream_service_part_up']) {
      assert.match(metrics, new RegExp(`^${name}\\{[^}]*service="moodstream"[^}]*\\} `, 'm'), name);
    }
  });

  it("the chart's newest point moves within 5 s of new posts", async () => {
    // Steady state: the start-up backlog (the demo's history) scored, as a person sees it a minute after start.
    await stack.demo?.historyDone;
    const waitStarted = Date.now();
    await stack.caughtUp(120_000);
    process.stderr.write(`e2e: the scorer caught up with the demo history ${Date.now() - waitStarted} ms after the test began waiting\n`);
    const topic = `e2e-live-${suffix}`;
    await page.goto(`${stack.url}/?topic=${topic}`);
    await page.getByTestId('connection').and(page.locator('[data-connected="true"]')).waitFor({ timeout: 30_000 });
    const producer = await stack.bus.producer();
    try {
      const send = async (first: number, count: number): Promise<void> => {
        const now = Date.now();
        const posts = Array.from({ length: count }, (_, i) => post(topic, `e2e-${suffix}-${first + i}`, `live probe number ${first + i}, what a great day`, now));
        await producer.send(stack.topics.posts, 'Post', posts.map((p) => ({ key: p.id, value: p, timestamp: p.timestamp })));
      };
      const latestCount = page.getByTestId('latest-count');
      let sentAt = Date.now();
      await send(0, 5);
      await assert.doesNotReject(latestCount.filter({ hasText: /^\s*5\s*$/ }).waitFor({ timeout: 5_000 }), 'first point within 5 s');
      const firstMs = Date.now() - sentAt;
      sentAt = Date.now();
      await send(5, 7);
      await assert.doesNotReject(latestCount.filter({ hasText: /^\s*12\s*$/ }).waitFor({ timeout: 5_000 }), 'the point moved within 5 s');
      const moveMs = Date.now() - sentAt;
      process.stderr.write(`e2e: first point after ${firstMs} ms, moved after ${moveMs} ms\n`);
      assert.notEqual(await page.getByTestId('chart').getAttribute('data-latest-start'), '');
      await shot('live-probe-topic');
    } finally {
      await producer.close();
    }
  });

  it('the planted mood shift appears in the alert feed', async () => {
    assert.ok(stack.demo !== null, 'the embedded stack replays the demo stream');
    await page.goto(`${stack.url}/`);
    const { topic, emotion } = stack.demo.shift;
    const alert = page.locator(`[data-testid="alert-item"][data-topic="${topic}"][data-emotion="${emotion}"]`);
    await alert.first().waitFor({ timeout: 150_000 });
    await page.getByTestId('chart').and(page.locator('[data-state="ready"]')).waitFor({ timeout: 10_000 });
    // The card says why and how sure: the rise with its 95% interval and the baseline it beat.
    const card = alert.first();
    assert.match((await card.getByTestId('alert-effect').textContent()) ?? '', /\d/, 'effect size shown');
    assert.match((await card.getByTestId('alert-interval').textContent()) ?? '', /95% CI .*\d.* to .*\d/, 'its 95% interval shown');
    assert.match((await card.getByTestId('alert-baseline').textContent()) ?? '', /baseline \d/, 'the baseline shown');
    // Its word shift: the terms that pushed the share up most come from the planted texts (docs/word-shift.md).
    await card.getByTestId('alert-word-shift').locator('summary').click();
    const rising = (await card.getByTestId('word-shift-term').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-term') ?? '', Number(r.getAttribute('data-contribution'))] as const)))
      .filter(([, contribution]) => contribution > 0)
      .slice(0, 3);
    const manifest = JSON.parse(await readFile(resolve(REPO_ROOT, 'data/demo/manifest.json'), 'utf8')) as { streamStart: number; plantedShift: { startMinute: number; endMinute: number } };
    const during = (t: number): boolean => t >= manifest.streamStart + manifest.plantedShift.startMinute * 60_000 && t < manifest.streamStart + manifest.plantedShift.endMinute * 60_000;
    const planted = (await readFile(resolve(REPO_ROOT, 'data/demo/stream.ndjson'), 'utf8'))
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { topics: string[]; label: string | null; timestamp: number; text: string })
      .filter((p) => p.topics.includes(topic) && p.label === emotion && during(p.timestamp))
      .map((p) => p.text.toLowerCase().replace(/’/g, "'"));
    assert.ok(rising.length > 0, 'the word shift lists terms that raised the share');
    for (const [term] of rising) assert.ok(planted.some((text) => text.includes(term)), `top term "${term}" comes from the planted ${emotion} texts`);
    process.stderr.write(`e2e: planted alert's word shift leads with ${rising.map(([term]) => term).join(', ')}\n`);
    // The demo keeps posting, so the newest bucket is still filling and is drawn apart as partial.
    const partial = page.getByTestId('chart-partial');
    await partial.waitFor({ timeout: 70_000 });
    assert.ok(Number(await partial.getAttribute('data-count')) >= 1, 'the partial bucket says how many posts it holds so far');
    await shot('live-with-alert');
    // The Posts drill-down of the alert shows the bucket's word shift for its emotion.
    await card.getByTestId('alert-posts').click();
    await page.getByTestId('posts-word-shift').getByTestId('word-shift-term').first().waitFor({ timeout: 15_000 });
  });

  it('explicit images start hidden and captions with markup render as text', async () => {
    const topic = `e2e-posts-${suffix}`;
    const caption = `<script>window.__pwned = true</script><b>not bold</b> e2e caption ${suffix}`;
    const now = Date.now();
    const producer = await stack.bus.producer();
    try {
      await producer.send(stack.topics.scored, 'ScoredPost', [
        { key: 'x1', value: scored(topic, `e2e-${suffix}-explicit`, caption, 0.97, now), timestamp: now },
        { key: 'x2', value: scored(topic, `e2e-${suffix}-safe`, `<img src=x onerror="window.__pwned=true"> safe ${suffix}`, 0.01, now), timestamp: now },
      ]);
    } finally {
      await producer.close();
    }
    const start = Math.floor(now / 60_000) * 60_000;
    await page.goto(`${stack.url}/?topic=${topic}&at=${start}&posts=1`);
    const explicitItem = page.locator(`[data-testid="post-item"][data-post-id="e2e-${suffix}-explicit"]`);
    const safeItem = page.locator(`[data-testid="post-item"][data-post-id="e2e-${suffix}-safe"]`);
    await explicitItem.waitFor({ timeout: 15_000 });
    await safeItem.waitFor({ timeout: 15_000 });
    assert.equal(await explicitItem.getByTestId('explicit-hidden').count(), 1, 'explicit image covered');
    assert.equal(await explicitItem.getByTestId('post-image').count(), 0, 'explicit image not in the page');
    assert.equal(await safeItem.getByTestId('post-image').count(), 1, 'a safe image is shown directly');
    assert.equal(await explicitItem.getByTestId('post-text').textContent(), caption);
    assert.equal(await explicitItem.locator('[data-testid="post-text"] b, [data-testid="post-text"] script').count(), 0);
    assert.equal(await safeItem.locator('[data-testid="post-text"] img').count(), 0);
    await shot('posts-explicit-hidden');
    await explicitItem.getByTestId('show-explicit').click();
    await explicitItem.getByTestId('post-image').waitFor({ timeout: 5_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned), undefined, 'no injected script ran');
    await shot('posts-explicit-revealed');
  });

  it('a replay of the shift topic plays to the end and re-fires its alert', async () => {
    assert.ok(stack.demo !== null);
    await page.goto(`${stack.url}/replay`);
    const topicPicker = page.getByTestId('replay-topic');
    await topicPicker.locator(`option[value="${stack.demo.shift.topic}"]`).waitFor({ state: 'attached', timeout: 15_000 });
    await topicPicker.selectOption(stack.demo.shift.topic);
    await page.getByTestId('replay-speed').selectOption('max');
    await page.getByTestId('replay-start').click();
    await page.getByTestId('replay-state').filter({ hasText: /done/i }).waitFor({ timeout: 90_000 });
    assert.equal(await page.getByTestId('replay-progress').getAttribute('data-progress'), '1');
    const alerts = Number((await page.getByTestId('replay-alert-count').textContent())?.match(/\d+/)?.[0]);
    assert.ok(alerts >= 1, `the replay re-fired the shift's alert (${alerts})`);
    await shot('replay-done');
  });

  it('the browser console stayed free of errors', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
