export * from './types';
export * from './codec';
export * from './errors';
export * from './probe';
export { headersToStrings } from './headers';
export { createBus, type CreateBusOptions } from './create-bus';
export { createKafkaBus, type KafkaBus, type KafkaBusOptions } from './kafka-bus';
export { createMemoryBus, memoryBusRetained, type MemoryBusOptions, type MemoryTopicRetention } from './memory-bus';
export type { RetryBackoff } from './options';
