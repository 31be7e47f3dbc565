import { createLogger, createMetricsRegistry } from '@moodstream/core';
import { createDashboardApp, type DashboardApp } from '../../src/app';
import { dashboardConfig } from '../../src/config';
import type { FakeTrends } from './fake-trends';

/**
 * The dashboard's real server (Next.js page, socket.io, /api) over a FakeTrends, as the browser tests of the page
 * alone use it: any free port, pushes sent at once, silent logs, healthy ops. `api` may stand in front of the fake's
 * routes (a test that breaks the API contract); not started.
 */
export function dashboardOnFake(fake: FakeTrends, name: string, api: DashboardAppApi = (req, res) => fake.handler(req, res)): DashboardApp {
  return createDashboardApp({
    config: dashboardConfig({ PORT: 0, DASHBOARD_PUSH_INTERVAL_MS: 0 }),
    logger: createLogger(name, { level: 'silent' }),
    ops: { registry: createMetricsRegistry('dashboard', { defaultMetrics: false }), health: () => ({ ok: true }) },
    trends: fake,
    api,
    onProgress: (line) => process.stderr.write(`${line}\n`),
  });
}

type DashboardAppApi = NonNullable<Parameters<typeof createDashboardApp>[0]['api']>;
