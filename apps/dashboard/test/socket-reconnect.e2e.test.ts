import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page, WebSocketRoute } from 'playwright-core';
import type { DashboardApp } from '../src/app';
import { launchHeadlessChromium, watchConsole } from './support/browser';
import { dashboardOnFake } from './support/dashboard-on-fake';
import { FakeTrends, makeAlert } from './support/fake-trends';

/**
 * A push sent while the page's socket is down (a network blip, or the moment between the page's first fetch and its
 * socket connecting) reaches no one; the page must fetch again what it shows when the socket (re)connects, as the
 * chart does, or an alert or a moment stays missing until a reload. The page's socket.io traffic goes through routes the
 * test can cut: the WebSocket transport and the HTTP long-polling one.
 */
describe('what the page missed while its socket was down (headless Chromium)', { timeout: 120_000 }, () => {
  const fake = new FakeTrends();
  let app: DashboardApp;
  let base: string;
  let browser: Awaited<ReturnType<typeof launchHeadlessChromium>>;
  let page: Page;
  let problems: string[];
  let cut = false;
  const open = new Set<WebSocketRoute>();

  before(async () => {
    fake.topics = [{ topic: 'cats', count: 3, lastSeen: 1 }];
    app = dashboardOnFake(fake, 'dashboard-reconnect-e2e');
    base = (await app.start()).url;
    browser = await launchHeadlessChromium();
    page = await browser.context.newPage();
    // The cut is the test's doing: the browser reports each refused reconnect attempt as a failed resource.
    problems = watchConsole(page, { ignore: /socket\.io|ERR_FAILED|WebSocket/ });
    await page.routeWebSocket(/\/socket\.io\//, (ws) => {
      if (cut) {
        void ws.close();
        return;
      }
      ws.connectToServer();
      open.add(ws);
    });
    await page.route(/\/socket\.io\//, (route) => (cut ? route.abort() : route.continue()));
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  it('shows an alert raised and a moment marked while the socket was down once it reconnects, without a reload', async () => {
    await page.goto(`${base}/?topic=cats`);
    const connection = (state: boolean) => page.getByTestId('connection').and(page.locator(`[data-connected="${state}"]`));
    await connection(true).waitFor({ timeout: 15_000 });
    await page.getByTestId('alerts-empty').waitFor({ timeout: 10_000 });

    cut = true;
    for (const ws of open) await ws.close();
    open.clear();
    await connection(false).waitFor({ timeout: 15_000 });
    // Stored, and pushed to no one: the page is offline.
    fake.addAlert(makeAlert({ id: 'while-offline', topic: 'cats', emotion: 'scared' }));
    const marked = await fetch(`${base}/api/moments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 'marked while offline', at: Date.now() - 60_000 }) });
    assert.equal(marked.status, 201, await marked.text());
    assert.equal(await page.getByTestId('alert-item').count(), 0);
    assert.equal(await page.getByTestId('moment-item').count(), 0);

    cut = false;
    await connection(true).waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="alert-item"][data-alert-id="while-offline"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('alert-item').count(), 1, 'listed once');
    await page.getByTestId('moment-item').filter({ hasText: 'marked while offline' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('moment-item').count(), 1, 'listed once');
  });

  it('logged no browser console errors beyond the cut itself', () => {
    assert.deepEqual(problems, []);
  });
});
