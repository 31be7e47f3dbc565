export * from './types';
export { MemoryIngestStore } from './memory-store';
export { FileIngestStore } from './file-store';
export { RedisIngestStore } from './redis-store';
