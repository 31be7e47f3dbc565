export { createDashboardApp, type DashboardAddress, type DashboardApp, type DashboardAppOptions } from './app';
export { DashboardConfigSchema, dashboardConfig, parseDashboardConfig, type DashboardConfig } from './config';
export { DASHBOARD_DIR, ensureNextBuild, isBuildCurrent, DashboardBuildError } from './server/next-build';
export type { TrendsEventSource, TrendsHttpHandler } from './trends-port';
export type { DashboardMetrics } from './metrics';
