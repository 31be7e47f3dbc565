import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Alert } from '@moodstream/events';
import type { DashboardApp } from '../src/app';
import type { Rejection } from '../src/ui/contract-log';
import { launchHeadlessChromium, watchConsole } from './support/browser';
import { dashboardOnFake } from './support/dashboard-on-fake';
import { FakeTrends, makeAlert } from './support/fake-trends';

/**
 * The page against a server that breaks the API contract: a malformed series answer and a malformed alert push must
 * each end in a visible error state and an entry in the page's rejection log, never in a crash or a console error.
 */
describe('dashboard in a browser, on answers that break the contract', { timeout: 300_000 }, () => {
  const fake = new FakeTrends();
  let app: DashboardApp;
  let base: string;
  let browser: Awaited<ReturnType<typeof launchHeadlessChromium>>;
  let page: Page;
  let problems: string[];

  before(async () => {
    fake.topics = [{ topic: 'cats', count: 3, lastSeen: 1 }];
    app = dashboardOnFake(fake, 'dashboard-contract-e2e', async (req, res) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/api/series') return fake.handler(req, res);
      // A series whose one point has lost its counts: what a server on another contract version might send.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ topic: 'cats', window: '1m', from: 0, to: 1, replay: null, points: [{ start: 0 }] }));
      return true;
    });
    base = (await app.start()).url;
    browser = await launchHeadlessChromium();
    page = await browser.context.newPage();
    problems = watchConsole(page);
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  const rejected = () => page.evaluate(() => (window as unknown as { moodstreamRejections?: Rejection[] }).moodstreamRejections ?? []);

  it('shows a malformed series answer as the chart error, and logs it', async () => {
    await page.goto(`${base}/?topic=cats`);
    const error = page.getByTestId('chart-error');
    await error.waitFor({ timeout: 15_000 });
    assert.match((await error.textContent()) ?? '', /The chart could not load: the server's answer is not what this page expects \(points\.0\.count: Required/);
    // Every series request was refused (the page may ask for the default topic first, before it reads the URL).
    const sources = (await rejected()).map((r) => r.source);
    assert.ok(sources.length > 0 && sources.every((s) => s.startsWith('GET /api/series?')), sources.join(', '));
    assert.ok(sources.some((s) => s.startsWith('GET /api/series?topic=cats&window=1m')), sources.join(', '));
    assert.equal(await page.getByTestId('topic-picker').isVisible(), true, 'the rest of the page still works');
  });

  it('shows a malformed alert push as the alert feed error, and keeps the page alive', async () => {
    await page.getByTestId('alerts-empty').waitFor({ timeout: 10_000 });
    await page.getByTestId('connection').and(page.locator('[data-connected="true"]')).waitFor({ timeout: 10_000 });
    const broken = { ...makeAlert({ id: 'bad', topic: 'cats', emotion: 'sad' }), emotion: 'bored' } as unknown as Alert;
    fake.addAlert(broken);
    const feed = page.getByTestId('alert-feed');
    await feed.getByRole('alert').waitFor({ timeout: 10_000 });
    assert.match((await feed.textContent()) ?? '', /Alerts unavailable: a live alert update is not what this page expects \(emotion: Invalid enum value/);
    assert.equal(await page.getByTestId('alert-item').count(), 0, 'the malformed alert is not shown');
    assert.deepEqual((await rejected()).filter((r) => !r.source.startsWith('GET /api/series?')).map((r) => r.source), ['socket.io alert']);
  });

  it('logged no browser console errors', () => {
    assert.deepEqual(problems, []);
  });
});
