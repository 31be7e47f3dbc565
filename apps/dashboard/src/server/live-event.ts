import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Clock, Logger, Router } from '@moodstream/core';
import type { AlertRuleSettings, MomentUpdate } from '@moodstream/events';
import {
  alertRuleDefaults,
  createLiveEventRouter,
  createLocalLiveEventStores,
  trendsConfig,
  type LiveEventStores,
  type TrendsService,
} from '@moodstream/trends';
import type { TrendsEventSource } from '../trends-port';

export interface LiveEventOptions {
  stores: LiveEventStores;
  /** The aggregator's global alert settings, a new topic rule's starting point (`alertRuleDefaults(trendsConfig)`). */
  alertDefaults: AlertRuleSettings;
  /** The model version the series export names; default: `version` in models/default/config.json. */
  modelVersion?: () => Promise<string | null>;
}

/** Where the deployed model says its version (the file the trends host's confusion matrix sits beside). */
const MODEL_CONFIG = 'models/default/config.json';

function modelVersionFromFile(path: string, logger: Logger): () => Promise<string | null> {
  let cached: Promise<string | null> | null = null;
  return () =>
    (cached ??= readFile(path, 'utf8').then(
      (text) => {
        const version = (JSON.parse(text) as { version?: unknown }).version;
        return typeof version === 'string' ? version : null;
      },
      (error: unknown) => {
        logger.warn({ path, err: error }, 'no model version for the series export');
        return null;
      },
    ));
}

/** A name an operator may send for the audit trail: short, plain characters only. */
const OPERATOR_NAME = /^[\w .@-]{1,40}$/;

/**
 * Who made a write, for the audit trail and the records: the name sent in `X-Moodstream-Operator` (if any), whether
 * the operator token or loopback let it through, and the client address.
 */
export function writerOf(req: IncomingMessage, tokenRequired: boolean, peer: string | undefined): string {
  const header = req.headers['x-moodstream-operator'];
  const name = typeof header === 'string' && OPERATOR_NAME.test(header.trim()) ? header.trim() : tokenRequired ? 'operator' : 'local operator';
  return `${name} (${peer ?? 'unknown address'})`;
}

const isService = (trends: TrendsEventSource | TrendsService): trends is TrendsService => 'series' in trends && 'alerts' in trends;

/** The live-event routes for the dashboard's /api: in memory with the default alert settings unless given stores. */
export function createLiveEventRoutes(input: {
  options: LiveEventOptions | undefined;
  trends: TrendsEventSource | TrendsService;
  operatorToken: boolean;
  peerAddress: (req: IncomingMessage) => string | undefined;
  clock: Clock;
  logger: Logger;
  onMoment: (update: MomentUpdate) => void;
}): Router {
  const options = input.options ?? {
    stores: createLocalLiveEventStores({ clock: input.clock }),
    alertDefaults: alertRuleDefaults(trendsConfig()),
  };
  const service = isService(input.trends) ? input.trends : null;
  return createLiveEventRouter({
    stores: options.stores,
    alertDefaults: options.alertDefaults,
    who: (req) => writerOf(req, input.operatorToken, input.peerAddress(req)),
    onMoment: input.onMoment,
    clock: input.clock,
    logger: input.logger,
    modelVersion: options.modelVersion ?? modelVersionFromFile(MODEL_CONFIG, input.logger),
    ...(service === null ? {} : { series: (query) => service.series(query), alerts: (query) => service.alerts(query) }),
  });
}
