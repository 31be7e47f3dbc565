/** Test helpers shared with the cross-package integration tests in /test. */
export { storeContract, LONG_RETENTION, type StoreUnderTest } from './store-contract';
export { scoredPost, T0 } from './fixtures';
export { redisDump } from './redis-dump';
export * from './scenarios';
export { wordShiftStoreContract, type WordShiftStoreUnderTest } from './word-shift-contract';
export { modelVersionStoreContract } from './model-version-contract';
export { replayRegistryContract, replayRecord } from './replay-registry-contract';
