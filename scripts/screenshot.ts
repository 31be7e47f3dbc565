/**
 * Takes the README's screenshot (docs/screenshot.png): the embedded stack as `npm start` runs it,
 * the planted mood shift's topic once its alert has fired, in headless Chromium.
 *
 *   node --import tsx scripts/screenshot.ts [--out docs/screenshot.png]
 */
import { resolve } from 'node:path';
import { createLogger, parseCommandLineOrExit, sleep } from '@moodstream/core';
import { launchHeadlessChromium } from '../apps/dashboard/test/support/browser';
import { parseStartConfig } from './start/config';
import { startEmbeddedStack } from './start/embedded';
import { REPO_ROOT } from './start/paths';
import { createProgress } from './start/progress';

async function main(): Promise<void> {
  const { values } = parseCommandLineOrExit({
    command: 'node --import tsx scripts/screenshot.ts',
    summary: "take the README's screenshot: the embedded stack as npm start runs it, the planted shift's topic once its alert fired, in headless Chromium",
    options: { out: { type: 'string', valueName: 'FILE', default: resolve(REPO_ROOT, 'docs/screenshot.png'), description: 'the PNG to write' } },
  });
  const progress = createProgress();
  const stack = await startEmbeddedStack({ config: parseStartConfig({ PORT: '0' }), progress, logger: createLogger('screenshot', { level: 'warn' }) });
  const browser = await launchHeadlessChromium({ width: 1280, height: 800 });
  try {
    const shift = stack.demo?.shift;
    if (shift === undefined) throw new Error('the screenshot needs the demo stream (unset TUMBLR_API_KEY)');
    const deadline = Date.now() + 4 * 60_000;
    for (;;) {
      const { alerts } = (await (await fetch(`${stack.url}/api/alerts`)).json()) as { alerts: { topic: string; emotion: string }[] };
      if (alerts.some((a) => a.topic === shift.topic && a.emotion === shift.emotion)) break;
      if (Date.now() > deadline) throw new Error(`no ${shift.emotion} alert on ${shift.topic} within 4 minutes`);
      await sleep(1_000);
    }
    // A little live data after the alert, so the chart shows the shift and what follows.
    await sleep(20_000);
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(`${stack.url}/?topic=${encodeURIComponent(shift.topic)}`);
    try {
      await page.locator('[data-testid="chart"][data-state="ready"]').waitFor({ timeout: 30_000 });
      await page.locator(`[data-testid="alert-item"][data-topic="${shift.topic}"][data-emotion="${shift.emotion}"]`).first().waitFor({ timeout: 30_000 });
    } catch (error) {
      const debug = resolve(REPO_ROOT, 'test-artifacts/screenshot-failure.png');
      await page.screenshot({ path: debug });
      throw new Error(`${(error as Error).message} (what the page showed: ${debug})`);
    }
    await sleep(1_500); // chart animation
    await page.screenshot({ path: values.out });
    progress.step(`wrote ${values.out}`);
  } finally {
    await browser.close();
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(`screenshot failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
