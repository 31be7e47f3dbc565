import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { createRouter, MoodstreamError, parseInput, queryObject, readJsonBody, sendJson, systemClock, type Clock, type Logger, type Router } from '@moodstream/core';
import {
  AddMomentRequestSchema,
  AddTopicRequestSchema,
  AlertRulePatchSchema,
  AlertsQuerySchema,
  EMOTIONS,
  MomentsQuerySchema,
  SeriesQuerySchema,
  TopicSchema,
  topicBudget,
  type Alert,
  type AlertRule,
  type AlertRuleSettings,
  type AlertsQuery,
  type MomentUpdate,
  type SeriesQuery,
  type SeriesResponse,
  type TopicBudget,
  type WatchedTopicsResponse,
} from '@moodstream/events';
import type { AlertRulesStore } from './alert-rules-store';
import type { TrendsConfig } from './config';
import { alertsCsv, seriesCsv } from './export-csv';
import type { MomentsStore } from './moments-store';
import type { TopicRegistryStore } from './topic-registry-store';

/** The stores behind following a live event: watched topics, moments and per-topic alert rules. */
export interface LiveEventStores {
  topics: TopicRegistryStore;
  moments: MomentsStore;
  rules: AlertRulesStore;
}

export interface LiveEventHttpOptions {
  stores: LiveEventStores;
  /** What a topic without a rule of its own uses (the aggregator's TRENDS_ALERT_* settings). */
  alertDefaults: AlertRuleSettings;
  /** Who made a write (the operator's name if sent, and the client address), for the audit trail. */
  who: (req: IncomingMessage) => string;
  /** A moment was added or removed: pushed to every viewer. */
  onMoment: (update: MomentUpdate) => void;
  /** Queries for the exports; without them the export routes answer 404. */
  series?: (query: SeriesQuery) => Promise<SeriesResponse>;
  alerts?: (query: AlertsQuery) => Promise<Alert[]>;
  /** The model version written in the series export. */
  modelVersion?: () => Promise<string | null>;
  clock?: Clock;
  logger?: Logger;
}

/** The global settings as a topic's rule starts from them. */
export function alertRuleDefaults(config: Pick<TrendsConfig, 'TRENDS_ALERT_LEVEL' | 'TRENDS_ALERT_MIN_COUNT' | 'TRENDS_ALERT_FOR_WINDOWS'>): AlertRuleSettings {
  return { enabled: true, emotions: [...EMOTIONS], level: config.TRENDS_ALERT_LEVEL, minCount: config.TRENDS_ALERT_MIN_COUNT, forWindows: config.TRENDS_ALERT_FOR_WINDOWS, mutedUntil: null };
}

const AuditQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(1_000).default(100), topic: TopicSchema.optional() }).strict();
const DAY_MS = 86_400_000;

function sendCsv(res: ServerResponse, name: string, body: string): void {
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${name}"`,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

/** A file name from user-chosen text: only letters, digits, '-' and '_'. */
const fileSafe = (text: string): string => text.replace(/[^a-z0-9_-]+/gi, '-').slice(0, 60) || 'topic';

/**
 * The routes for following a live event, under /api beside the trends API (writes go through the dashboard's write
 * rules — rate, then the operator credential — like acknowledging alerts):
 * - GET /api/topics/watched, POST /api/topics/watched {tag}, DELETE /api/topics/watched/:tag
 * - GET /api/moments?from&to, POST /api/moments {label, at?}, DELETE /api/moments/:id
 * - GET /api/alert-rules, POST /api/alert-rules/:topic (a patch), DELETE /api/alert-rules/:topic, GET /api/alert-rules/audit
 * - GET /api/export/series.csv?topic&window&from&to&replay, GET /api/export/alerts.csv?topic&replay&limit
 * It claims no other path, so anything else falls through to the trends API.
 */
export function createLiveEventRouter(options: LiveEventHttpOptions): Router {
  const { stores, who } = options;
  const clock = options.clock ?? systemClock;
  const router = createRouter({ logger: options.logger, what: 'live-event request' });

  const budgetFor = async (watched: number): Promise<{ budget: TopicBudget | null; configured: string[] }> => {
    const [report] = await stores.topics.reports();
    if (report === undefined) return { budget: null, configured: [] };
    return { budget: { ...topicBudget({ limits: report.limits, pollIntervalMs: report.pollIntervalMs, watched }), report }, configured: report.configured };
  };
  const watchedList = async (): Promise<WatchedTopicsResponse> => {
    const topics = await stores.topics.list();
    const first = await budgetFor(0);
    const configured = first.configured;
    const extra = topics.filter((t) => !configured.includes(t.tag)).length;
    const { budget } = await budgetFor(configured.length + extra);
    return { topics, configured, budget };
  };

  router
    .get('/api/topics/watched', async ({ res }) => sendJson(res, 200, await watchedList()))
    .post('/api/topics/watched', async ({ req, res }) => {
      const { tag } = parseInput(AddTopicRequestSchema, await readJsonBody(req), 'topic');
      const current = await watchedList();
      if (current.configured.includes(tag) || current.topics.some((t) => t.tag === tag)) throw new MoodstreamError('CONFLICT', `#${tag} is already watched`);
      const budget = current.budget;
      if (budget !== null && budget.watched + 1 > budget.capacity) {
        const perHour = Math.round(budget.sustainablePerHour);
        throw new MoodstreamError(
          'CONFLICT',
          `the request budget cannot carry #${tag}: it sustains ${perHour} requests an hour, enough to poll ${budget.capacity} tags at least every ${Math.round(budget.maxPollIntervalMs / 60_000)} minutes, and ${budget.watched} are watched — remove a tag or raise INGEST_BUDGET_PER_HOUR/PER_DAY`,
        );
      }
      const topic = { tag, addedAt: clock.now(), addedBy: who(req) };
      if (!(await stores.topics.add(topic))) throw new MoodstreamError('CONFLICT', `#${tag} is already watched`);
      sendJson(res, 201, topic);
    })
    .delete('/api/topics/watched/:tag', async ({ res, params }) => {
      const tag = parseInput(TopicSchema, params['tag'], 'tag');
      if (!(await stores.topics.remove(tag))) {
        const { configured } = await watchedList();
        if (configured.includes(tag)) throw new MoodstreamError('CONFLICT', `#${tag} is in the ingester's start-up configuration (INGEST_TOPICS or an emotion tag) and cannot be removed here`);
        throw new MoodstreamError('NOT_FOUND', `#${tag} is not a watched topic added at run time`);
      }
      sendJson(res, 200, { removed: tag });
    })
    .get('/api/moments', async ({ res, url }) => {
      const query = parseInput(MomentsQuerySchema, queryObject(url.searchParams), 'moments query');
      const to = query.to ?? clock.now() + DAY_MS;
      const from = query.from ?? to - 7 * DAY_MS;
      sendJson(res, 200, { moments: await stores.moments.list({ from, to }) });
    })
    .post('/api/moments', async ({ req, res }) => {
      const request = parseInput(AddMomentRequestSchema, await readJsonBody(req), 'moment');
      const now = clock.now();
      const moment = { id: randomUUID(), label: request.label, at: request.at ?? now, createdAt: now, createdBy: who(req) };
      await stores.moments.add(moment);
      options.onMoment({ action: 'added', moment });
      sendJson(res, 201, moment);
    })
    .delete('/api/moments/:id', async ({ res, params }) => {
      const removed = await stores.moments.remove(params['id'] ?? '');
      if (removed === null) throw new MoodstreamError('NOT_FOUND', `no moment with id "${params['id'] ?? ''}"`);
      options.onMoment({ action: 'removed', moment: removed });
      sendJson(res, 200, removed);
    })
    .get('/api/alert-rules', async ({ res }) => sendJson(res, 200, { rules: await stores.rules.list(), defaults: options.alertDefaults }))
    .get('/api/alert-rules/audit', async ({ res, url }) => {
      const query = parseInput(AuditQuerySchema, queryObject(url.searchParams), 'audit query');
      const audit = await stores.rules.audit(query.topic === undefined ? query.limit : 1_000);
      sendJson(res, 200, { audit: (query.topic === undefined ? audit : audit.filter((a) => a.topic === query.topic)).slice(0, query.limit) });
    })
    .post('/api/alert-rules/:topic', async ({ req, res, params }) => {
      const topic = parseInput(TopicSchema, params['topic'], 'topic');
      const patch = parseInput(AlertRulePatchSchema, await readJsonBody(req), 'alert rule');
      const now = clock.now();
      const before = (await stores.rules.list()).find((r) => r.topic === topic) ?? null;
      const { muteForMs, ...fields } = patch;
      const base: AlertRuleSettings = before ?? options.alertDefaults;
      const settings: AlertRuleSettings = {
        enabled: fields.enabled ?? base.enabled,
        emotions: fields.emotions ?? base.emotions,
        level: fields.level ?? base.level,
        minCount: fields.minCount ?? base.minCount,
        forWindows: fields.forWindows ?? base.forWindows,
        mutedUntil: muteForMs !== undefined ? (muteForMs === 0 ? null : now + muteForMs) : fields.mutedUntil !== undefined ? fields.mutedUntil : base.mutedUntil,
      };
      const by = who(req);
      const after: AlertRule = { topic, ...settings, emotions: EMOTIONS.filter((e) => settings.emotions.includes(e)), updatedAt: now, updatedBy: by };
      await stores.rules.set(topic, after, { at: now, who: by, topic, before, after });
      sendJson(res, 200, after);
    })
    .delete('/api/alert-rules/:topic', async ({ req, res, params }) => {
      const topic = parseInput(TopicSchema, params['topic'], 'topic');
      const before = (await stores.rules.list()).find((r) => r.topic === topic) ?? null;
      if (before === null) throw new MoodstreamError('NOT_FOUND', `#${topic} has no rule of its own (it uses the defaults)`);
      await stores.rules.set(topic, null, { at: clock.now(), who: who(req), topic, before, after: null });
      sendJson(res, 200, { removed: topic });
    });

  const { series, alerts } = options;
  if (series !== undefined) {
    router.get('/api/export/series.csv', async ({ res, url }) => {
      const query = parseInput(SeriesQuerySchema, queryObject(url.searchParams), 'series query');
      const response = await series(query);
      const version = (await options.modelVersion?.()) ?? null;
      sendCsv(res, `moodstream-${fileSafe(response.topic)}-${response.window}-${new Date(response.from).toISOString().slice(0, 16).replace(':', '')}.csv`, seriesCsv(response, version));
    });
  }
  if (alerts !== undefined) {
    router.get('/api/export/alerts.csv', async ({ res, url }) => {
      const query = parseInput(AlertsQuerySchema, queryObject(url.searchParams), 'alerts query');
      sendCsv(res, `moodstream-alerts${query.topic === undefined ? '' : `-${fileSafe(query.topic)}`}.csv`, alertsCsv(await alerts(query)));
    });
  }
  return router;
}
