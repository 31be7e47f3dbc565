export { createIngesterApp, type IngesterApp, type IngesterAppOptions, type IngesterStats } from './app';
export { IngesterConfigSchema, watchedTopics, type IngesterConfig } from './config';
export { parseCli, HELP, type IngestMode, type CliOptions } from './cli';
