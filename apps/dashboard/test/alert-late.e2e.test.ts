import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import type { Alert, AlertExplanation } from '@moodstream/events';
import type { DashboardApp } from '../src/app';
import { launchHeadlessChromium, watchConsole } from './support/browser';
import { dashboardOnFake } from './support/dashboard-on-fake';
import { FakeTrends, makeAlert } from './support/fake-trends';

/**
 * An alert decided after its window's first decision (issue 12: late posts re-open decided windows, and
 * `trends:rebuild` re-decides after a flush) says so on its card, in words a reader can act on; an alert decided on
 * time carries no such line. Checked in the browser, on alerts that arrive with the page's first read and live.
 */
describe('dashboard in a browser: alerts decided late', { timeout: 300_000 }, () => {
  const fake = new FakeTrends();
  let app: DashboardApp;
  let base: string;
  let browser: Awaited<ReturnType<typeof launchHeadlessChromium>>;
  let page: Page;
  let problems: string[];

  const explanation = (decidedLate?: AlertExplanation['decidedLate']): AlertExplanation => ({
    effect: { difference: 0.16, lo: 0.12, hi: 0.2, ratio: 4.2 },
    baseline: { share: 0.05, windows: 30, method: 'ewma', hourOfDay: 12, seasonalIndex: null },
    dispersion: { samplingSd: 0.01, baselineSd: 0.005, betweenSd: 0.004, totalSd: 0.012 },
    ...(decidedLate === undefined ? {} : { decidedLate }),
  });
  // The first decision's time: the card shows it as a clock time (in the browser's zone).
  const firstDecidedAt = Date.UTC(2026, 11, 1, 10, 15, 0);
  const late: Alert = makeAlert({ id: 'late-posts', topic: 'storm', emotion: 'scared', late: true, explanation: explanation({ reason: 'late-posts', firstDecidedAt, firstCount: 9 }) });
  const rebuilt: Alert = makeAlert({ id: 'rebuilt', topic: 'storm', emotion: 'sad', late: true, explanation: explanation({ reason: 'rebuild', firstDecidedAt: null, firstCount: null }) });
  const onTime: Alert = makeAlert({ id: 'on-time', topic: 'storm', emotion: 'angry', explanation: explanation() });

  before(async () => {
    fake.topics = [{ topic: 'storm', count: 40, lastSeen: Date.now() }];
    fake.alerts.push(rebuilt, onTime);
    app = dashboardOnFake(fake, 'dashboard-alert-late-e2e');
    base = (await app.start()).url;
    browser = await launchHeadlessChromium();
    page = await browser.context.newPage();
    problems = watchConsole(page);
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
  });

  const card = (id: string) => page.locator(`[data-testid="alert-item"][data-alert-id="${id}"]`);

  it('marks an alert re-decided by trends:rebuild, and leaves an on-time alert unmarked', async () => {
    await page.goto(`${base}/?topic=storm`);
    await card('rebuilt').waitFor({ timeout: 30_000 });
    await card('on-time').waitFor({ timeout: 10_000 });
    assert.match((await card('rebuilt').getByTestId('alert-late').textContent()) ?? '', /^decided late: re-decided over the rebuilt history .*trends:rebuild/);
    assert.equal(await card('on-time').getByTestId('alert-why').count(), 1, 'the on-time alert shows its explanation');
    assert.equal(await card('on-time').getByTestId('alert-late').count(), 0, 'no late line on an alert decided on time');
  });

  it('marks a live alert that late posts made significant, with what the first decision saw', async () => {
    await page.getByTestId('connection').and(page.locator('[data-connected="true"]')).waitFor({ timeout: 10_000 });
    fake.addAlert(late);
    await card('late-posts').waitFor({ timeout: 10_000 });
    const text = (await card('late-posts').getByTestId('alert-late').textContent()) ?? '';
    assert.match(text, /^decided late: first decided on 9 posts at \d{1,2}:\d{2}; posts that arrived later made it significant$/);
  });

  it('logged no browser console errors', () => {
    assert.deepEqual(problems, []);
  });
});
