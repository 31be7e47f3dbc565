import type { Redis } from 'ioredis';
import { AlertRuleAuditSchema, AlertRuleSchema, type AlertRule, type AlertRuleAudit } from '@moodstream/events';
import { parseStored } from './parse-stored';
import { liveEventKeys } from './topic-registry-store';

/**
 * Per-topic alert rules and their audit trail. The live aggregator reads the rules before every alert window, so a
 * change applies from the next window without a restart, in whichever process aggregates.
 */
export interface AlertRulesStore {
  list(): Promise<AlertRule[]>;
  /** Sets (or with null removes) a topic's rule and appends the audit entry, together. */
  set(topic: string, rule: AlertRule | null, audit: AlertRuleAudit): Promise<void>;
  /** Newest first. */
  audit(limit: number): Promise<AlertRuleAudit[]>;
}

/** Audit entries kept (the oldest are dropped past this). */
export const MAX_AUDIT_ENTRIES = 10_000;

const byTopic = (a: AlertRule, b: AlertRule): number => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0);

export function createMemoryAlertRulesStore(): AlertRulesStore {
  const rules = new Map<string, AlertRule>();
  const trail: AlertRuleAudit[] = [];
  return {
    list: () => Promise.resolve([...rules.values()].map((r) => structuredClone(r)).sort(byTopic)),
    set(topic, rule, audit) {
      if (rule === null) rules.delete(topic);
      else rules.set(topic, structuredClone(rule));
      trail.unshift(structuredClone(audit));
      trail.length = Math.min(trail.length, MAX_AUDIT_ENTRIES);
      return Promise.resolve();
    },
    audit: (limit) => Promise.resolve(trail.slice(0, limit).map((a) => structuredClone(a))),
  };
}

export function createRedisAlertRulesStore(redis: Redis, options: { prefix: string }): AlertRulesStore {
  const keys = liveEventKeys(options.prefix);
  return {
    async list() {
      return parseStored(AlertRuleSchema, await redis.hvals(keys.rules)).sort(byTopic);
    },
    async set(topic, rule, audit) {
      const tx = redis.multi();
      if (rule === null) tx.hdel(keys.rules, topic);
      else tx.hset(keys.rules, topic, JSON.stringify(rule));
      await tx.lpush(keys.audit, JSON.stringify(audit)).ltrim(keys.audit, 0, MAX_AUDIT_ENTRIES - 1).exec();
    },
    async audit(limit) {
      return parseStored(AlertRuleAuditSchema, await redis.lrange(keys.audit, 0, limit - 1));
    },
  };
}

/** The rules as the live aggregator reads them before each alert window (see the engine's `alertRules`). */
export function alertRulesReader(store: AlertRulesStore): () => Promise<ReadonlyMap<string, AlertRule>> {
  return async () => new Map((await store.list()).map((rule) => [rule.topic, rule]));
}
