import { z } from 'zod';
import {
  AlertRuleAuditResponseSchema,
  AlertRuleSchema,
  AlertRulesResponseSchema,
  MomentSchema,
  MomentsResponseSchema,
  WatchedTopicSchema,
  WatchedTopicsResponseSchema,
  type AlertRule,
  type AlertRuleAudit,
  type AlertRulePatch,
  type AlertRuleSettings,
  type Moment,
  type WatchedTopic,
  type WatchedTopicsResponse,
  type WindowSize,
} from '@moodstream/events';
import { request } from './api';

/** The browser's calls for following a live event: watched topics, moments, alert rules and the export links. */
export const liveEventApi = {
  watchedTopics(): Promise<WatchedTopicsResponse> {
    return request('/api/topics/watched', WatchedTopicsResponseSchema);
  },
  addTopic(tag: string): Promise<WatchedTopic> {
    return request('/api/topics/watched', WatchedTopicSchema, { method: 'POST', body: JSON.stringify({ tag }) });
  },
  async removeTopic(tag: string): Promise<void> {
    await request(`/api/topics/watched/${encodeURIComponent(tag)}`, z.object({ removed: z.string() }), { method: 'DELETE' });
  },
  async moments(from: number, to: number): Promise<Moment[]> {
    return (await request(`/api/moments?from=${Math.max(0, Math.floor(from))}&to=${Math.floor(to)}`, MomentsResponseSchema)).moments;
  },
  addMoment(label: string, at?: number): Promise<Moment> {
    return request('/api/moments', MomentSchema, { method: 'POST', body: JSON.stringify(at === undefined ? { label } : { label, at }) });
  },
  async removeMoment(id: string): Promise<void> {
    await request(`/api/moments/${encodeURIComponent(id)}`, MomentSchema, { method: 'DELETE' });
  },
  rules(): Promise<{ rules: AlertRule[]; defaults: AlertRuleSettings }> {
    return request('/api/alert-rules', AlertRulesResponseSchema);
  },
  setRule(topic: string, patch: AlertRulePatch): Promise<AlertRule> {
    return request(`/api/alert-rules/${encodeURIComponent(topic)}`, AlertRuleSchema, { method: 'POST', body: JSON.stringify(patch) });
  },
  async resetRule(topic: string): Promise<void> {
    await request(`/api/alert-rules/${encodeURIComponent(topic)}`, z.object({ removed: z.string() }), { method: 'DELETE' });
  },
  async audit(topic: string, limit = 5): Promise<AlertRuleAudit[]> {
    return (await request(`/api/alert-rules/audit?topic=${encodeURIComponent(topic)}&limit=${limit}`, AlertRuleAuditResponseSchema)).audit;
  },
};

/** The export links: what the chart shows, as the API's CSV. */
export function seriesCsvHref(params: { topic: string; window: WindowSize; from: number; to: number; replay?: string | null }): string {
  const q = new URLSearchParams({ topic: params.topic, window: params.window, from: String(Math.floor(params.from)), to: String(Math.floor(params.to)) });
  if (params.replay != null) q.set('replay', params.replay);
  return `/api/export/series.csv?${q.toString()}`;
}

export function alertsCsvHref(params: { topic?: string; replay?: string | null } = {}): string {
  const q = new URLSearchParams({ limit: '500' });
  if (params.topic !== undefined) q.set('topic', params.topic);
  if (params.replay != null) q.set('replay', params.replay);
  return `/api/export/alerts.csv?${q.toString()}`;
}
