import { Kafka, logLevel } from 'kafkajs';
import { errorMessage } from '@moodstream/core';

export type ProbeResult = { ok: true; topics: number } | { ok: false; reason: string };

/**
 * Asks a broker for its topic list once, with no retries, so a caller that polls
 * (service start-up, health checks) decides itself how long to wait.
 */
export async function probeKafka(brokers: string[], timeoutMs = 2_000): Promise<ProbeResult> {
  const kafka = new Kafka({
    clientId: 'moodstream-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const topics = await admin.listTopics();
    return { ok: true, topics: topics.length };
  } catch (error) {
    return { ok: false, reason: errorMessage(error) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Kafka as a readiness dependency (`runtime.dependency('kafka', kafkaDependency(brokers))`): the brokers answer. */
export function kafkaDependency(brokers: string[], timeoutMs = 1_500): () => Promise<{ ok: boolean; detail?: unknown }> {
  return async () => {
    const result = await probeKafka(brokers, timeoutMs);
    return result.ok ? { ok: true, detail: { topics: result.topics } } : { ok: false, detail: { reason: result.reason } };
  };
}
