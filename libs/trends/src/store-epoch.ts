import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Gauge } from 'prom-client';
import { sleep, type Clock, type Logger, type PartHealth, type ServiceRuntime } from '@moodstream/core';

/**
 * Noticing that Redis lost the aggregates. A marker key (the store's epoch) is written once when the aggregator
 * first runs against an empty store; the aggregator re-reads it every few seconds. When it is gone (a FLUSHALL, a
 * Redis restarted without persistence, a failover to an empty replica) every aggregate written before is gone too
 * and the aggregator, which carries on from its committed Kafka offsets, cannot bring them back: it says so once
 * (an error log naming `npm run trends:rebuild`), records a "rebuild needed" flag in Redis, shows it on /healthz and
 * in `moodstream_trends_rebuild_needed`, and starts a new epoch. `npm run trends:rebuild` clears the flag.
 *
 * Keys carry the `{epoch}` hash tag, so both sit in one Redis Cluster slot.
 */
export function epochKey(prefix: string): string {
  return `${prefix}:{epoch}:marker`;
}

export function rebuildNeededKey(prefix: string): string {
  return `${prefix}:{epoch}:rebuild-needed`;
}

/**
 * Engine state name (in the live namespace) under which `npm run trends:rebuild` leaves the alert state it re-decided
 * (engine.redecide). An aggregator that decides alerts takes it over when it sees the rebuild's new epoch
 * (engine.adoptSaved), instead of going on with a detector built on the emptied store.
 */
export const REBUILT_ENGINE_STATE = 'engine:rebuilt';

export interface EpochState {
  /** The marker's value when this process last read it. */
  epoch: string | null;
  /** Since when (epoch ms) aggregates are known to be incomplete; null when they are not. */
  rebuildNeededSince: number | null;
}

export interface StoreEpochWatch {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): PartHealth;
  state(): EpochState;
  /** One check now (the watch runs it every `intervalMs`). */
  check(): Promise<void>;
}

export interface StoreEpochOptions {
  redis: Redis;
  prefix: string;
  logger: Logger;
  intervalMs?: number;
  clock?: Clock;
  /** Called with 1 while a rebuild is needed, 0 otherwise (the metric). */
  onRebuildNeeded?: (needed: 0 | 1) => void;
  /** Called once per rebuild seen (a new epoch with the flag cleared), after the check that saw it. */
  onRebuilt?: (epoch: string) => Promise<void>;
}

function newEpoch(now: number): string {
  return `${now}-${randomBytes(4).toString('hex')}`;
}

/**
 * Starts a new epoch after a rebuild (the rebuild CLI): the marker is replaced and the flag cleared, so every
 * aggregator sees the store as whole again.
 */
export async function markRebuilt(redis: Redis, prefix: string, now: number): Promise<string> {
  const epoch = newEpoch(now);
  await redis.multi().set(epochKey(prefix), epoch).del(rebuildNeededKey(prefix)).exec();
  return epoch;
}

export function createStoreEpochWatch(options: StoreEpochOptions): StoreEpochWatch {
  const { redis, prefix, logger } = options;
  const now = (): number => options.clock?.now() ?? Date.now();
  const intervalMs = options.intervalMs ?? 5_000;
  const stopped = new AbortController();
  let loop: Promise<void> | null = null;
  const state: EpochState = { epoch: null, rebuildNeededSince: null };

  const setNeeded = (since: number | null): void => {
    state.rebuildNeededSince = since;
    options.onRebuildNeeded?.(since === null ? 0 : 1);
  };

  const check = async (): Promise<void> => {
    const [marker = null, needed = null] = await redis.mget(epochKey(prefix), rebuildNeededKey(prefix));
    if (marker === null) {
      // First run against an empty store, or the store lost everything since we last looked.
      const fresh = newEpoch(now());
      const created = await redis.set(epochKey(prefix), fresh, 'NX');
      if (state.epoch !== null) {
        const since = now();
        await redis.set(rebuildNeededKey(prefix), String(since), 'NX');
        logger.error(
          { epochKey: epochKey(prefix), previousEpoch: state.epoch },
          'Redis lost the trends aggregates (the epoch marker is gone: flushed, or restarted without persistence); new posts are counted, but everything before is missing until `npm run trends:rebuild` rebuilds it from Kafka',
        );
        setNeeded(since);
      }
      state.epoch = created === 'OK' ? fresh : await redis.get(epochKey(prefix));
      return;
    }
    const rebuilt = state.epoch !== null && marker !== state.epoch && needed === null;
    if (rebuilt) logger.info({ epoch: marker }, 'the trends store was rebuilt: a new epoch');
    state.epoch = marker;
    const since = needed === null ? null : Number(needed);
    if (since !== state.rebuildNeededSince) setNeeded(since);
    if (rebuilt) await options.onRebuilt?.(marker);
  };

  return {
    async start() {
      await check();
      if (state.rebuildNeededSince !== null) {
        logger.error({ since: new Date(state.rebuildNeededSince).toISOString() }, 'the trends aggregates are incomplete (Redis lost them earlier): run `npm run trends:rebuild`');
      }
      loop = (async () => {
        while (await sleep(intervalMs, { signal: stopped.signal, ...(options.clock === undefined ? {} : { clock: options.clock }) })) {
          // Redis down: the store's own errors say so; the marker is checked again once it answers.
          await check().catch(() => undefined);
        }
      })();
    },
    async stop() {
      stopped.abort();
      await loop;
    },
    health: () => ({
      // Still serving and counting new posts: not a reason to restart the process, so ok stays true.
      ok: true,
      detail: state.rebuildNeededSince === null ? { epoch: state.epoch } : { epoch: state.epoch, rebuildNeededSince: new Date(state.rebuildNeededSince).toISOString(), fix: 'npm run trends:rebuild' },
    }),
    state: () => ({ ...state }),
    check,
  };
}

/**
 * The watch as a part of a service runtime, with its `moodstream_trends_rebuild_needed` gauge. `onRebuilt`: the
 * trends service's `adoptRebuild` (the service is built after the watch, so it is looked up when a rebuild is seen).
 */
export async function startStoreEpochWatch(runtime: ServiceRuntime, redis: Redis, prefix: string, onRebuilt?: () => Promise<void>): Promise<StoreEpochWatch> {
  const gauge = new Gauge({
    name: 'moodstream_trends_rebuild_needed',
    help: '1 while the live aggregates are incomplete because Redis lost them (run npm run trends:rebuild), else 0',
    registers: [runtime.registry],
  });
  gauge.set(0);
  const watch = createStoreEpochWatch({
    redis,
    prefix,
    logger: runtime.logger,
    clock: runtime.clock,
    onRebuildNeeded: (needed) => gauge.set(needed),
    ...(onRebuilt === undefined ? {} : { onRebuilt }),
  });
  return runtime.start('store-epoch', watch);
}
