/**
 * The model page in a real browser, on the embedded stack exactly as `npm start` builds it: the evaluation table in
 * the study's Table 6.1 shape and the six class visualisations (loaded images), plus the post-explanation API.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createLogger } from '@moodstream/core';
import { EMOTIONS, PostExplanationSchema } from '@moodstream/events';
import { launchHeadlessChromium, watchConsole, type HeadlessBrowser } from '../../apps/dashboard/test/support/browser';
import { parseStartConfig } from '../../scripts/start/config';
import { startEmbeddedStack, type EmbeddedStack } from '../../scripts/start/embedded';
import { REPO_ROOT } from '../../scripts/start/paths';
import { createProgress } from '../../scripts/start/progress';

const ARTIFACTS = resolve(REPO_ROOT, 'test-artifacts/e2e');

let stack: EmbeddedStack;
let browser: HeadlessBrowser;
let page: Page;
const consoleErrors: string[] = [];

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  stack = await startEmbeddedStack({
    config: parseStartConfig({ PORT: '0', LOG_LEVEL: 'warn' }),
    progress: createProgress({ write: (line) => process.stderr.write(`${line}\n`) }),
    logger: createLogger('e2e-model', { level: 'warn' }),
  });
  browser = await launchHeadlessChromium();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  watchConsole(page, { into: consoleErrors });
});

after(async () => {
  await browser?.close();
  await stack?.close();
});

describe('model page end to end (embedded stack, headless Chromium)', { timeout: 6 * 60_000 }, () => {
  it('the model page (linked from the top bar) shows the evaluation table and the six class visualisations', async () => {
    // A loaded machine serves the first page slowly (the demo is scoring its history meanwhile).
    page.setDefaultTimeout(120_000);
    await page.goto(`${stack.url}/model`, { timeout: 120_000 });
    const link = page.getByTestId('nav-model');
    assert.equal(await link.getAttribute('href'), '/model');
    assert.equal(await link.getAttribute('aria-current'), 'page');
    const table = page.getByTestId('evaluation-table');
    await table.waitFor({ timeout: 60_000 });
    const header = (await table.locator('thead').innerText()).toLowerCase();
    for (const column of ['accuracy', 'macro-f1', 'ece']) assert.ok(header.includes(column), `Table 6.1 column ${column}`);
    const rows = await table.locator('tbody tr').allInnerTexts();
    assert.ok(rows.some((r) => r.startsWith('text only')), `a text-only row among ${rows.join(' | ')}`);
    const figures = page.getByTestId('class-visualisation');
    assert.equal(await figures.count(), 6);
    assert.deepEqual(await figures.evaluateAll((els) => els.map((e) => e.getAttribute('data-emotion'))), [...EMOTIONS]);
    // Every image really loaded (a broken one has naturalWidth 0).
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="class-visualisation"] img')].every((img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0), undefined, { timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'model-page.png'), fullPage: true });
    assert.deepEqual(consoleErrors, []);
  });

  it('POST /api/explain/post answers per-word contributions that sum to the text part', async () => {
    const res = await fetch(`${stack.url}/api/explain/post`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'the storm is terrifying and I am scared', modality: 'text' }),
    });
    assert.equal(res.status, 200);
    const e = PostExplanationSchema.parse(await res.json());
    assert.equal(e.words.length, 8);
    const sum = e.words.reduce((s, w) => s + w.contribution, 0);
    assert.ok(Math.abs(sum - e.textPart) <= 0.02 + 0.01 * Math.abs(e.textPart), `Σ ${sum} vs text part ${e.textPart}`);
    assert.equal(e.imageShare, 0);
    const bad = await fetch(`${stack.url}/api/explain/post`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 1 }) });
    assert.equal(bad.status, 400);
  });
});
