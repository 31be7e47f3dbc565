import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * The one way the project drives a browser — every end-to-end test and the README screenshot: Debian's headless
 * Chromium with a fresh profile directory (removed on close), quiet on the network (nothing but the page under test).
 */
const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

export interface HeadlessBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchHeadlessChromium(viewport = { width: 1280, height: 900 }): Promise<HeadlessBrowser> {
  const profile = await mkdtemp(join(tmpdir(), 'moodstream-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
    headless: true,
    viewport,
    args: CHROMIUM_FLAGS,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Every console error and uncaught page exception, so a test can require there were none. `ignore` skips console
 * errors a page causes on purpose (Chromium logs a refused request, e.g. a 409 the page shows, as an error).
 */
export function watchConsole(page: Page, options: { ignore?: RegExp; into?: string[] } = {}): string[] {
  const problems = options.into ?? [];
  page.on('console', (message) => {
    if (message.type() === 'error' && !(options.ignore?.test(message.text()) ?? false)) problems.push(`console: ${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  return problems;
}
