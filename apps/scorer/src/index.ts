export { createScorerApp, type ScorerApp, type ScorerAppOptions, type ScorerStats } from './app';
export { ScorerConfigSchema, type ScorerConfig } from './config';
export type { LoadedModels } from './inference/run-inference';
export { loadModels } from './inference/load-models';
export { SafeImageFetcher, type ImageFetchLimits, type FetchedImage } from './fetch/safe-image-fetcher';
export { AddressPolicy } from './fetch/address-policy';
