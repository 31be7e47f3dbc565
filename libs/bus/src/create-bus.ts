import type { Logger } from '@moodstream/core';
import { createKafkaBus } from './kafka-bus';
import { createMemoryBus } from './memory-bus';
import type { Bus } from './types';

export interface CreateBusOptions {
  /** Kafka bootstrap brokers; none (or an empty list) means the in-memory bus of the embedded mode. */
  kafkaBrokers?: string[] | undefined;
  clientId: string;
  logger?: Logger;
  topicPrefix?: string;
}

/** Kafka when brokers are configured, otherwise the in-process bus: the one switch between the two modes. */
export function createBus(options: CreateBusOptions): Bus {
  const common = {
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    ...(options.topicPrefix === undefined ? {} : { topicPrefix: options.topicPrefix }),
  };
  if (options.kafkaBrokers !== undefined && options.kafkaBrokers.length > 0) {
    return createKafkaBus({ brokers: options.kafkaBrokers, clientId: options.clientId, ...common });
  }
  return createMemoryBus(common);
}
