import { z } from 'zod';
import { ReplayStatusSchema } from './api-types';
import { redisCall } from './redis-errors';
import { namespaceTag, type TrendsRedis } from './redis-store';
import type { ReplayRegistry } from './replay-registry';
import type { ClaimOutcome, ReplayRecord } from './replay-state';

/**
 * The distributed mode's replay registry. Every key carries the hash tag `{<prefix>:replays}` (the layout of
 * redis-store.ts), so each script below touches one slot, on one node or a cluster: `…:r:<id>` a hash per replay
 * (`static` JSON of what never changes, `state`, `stop` 0/1, `lease` epoch ms, `by` the running instance,
 * `progress` and `end` JSON), `…:index` a sorted set of ids by start time.
 *
 * The scripts are replay-state.ts's rules in Lua — they must run atomically against other instances — and the
 * registry contract (test/replay-registry-contract.ts) holds them to the memory registry's behaviour.
 */
const CLAIM = `
local tag = KEYS[1]
local key = tag .. ':r:' .. ARGV[1]
if redis.call('EXISTS', key) == 1 then return {'exists', 0} end
local now = tonumber(ARGV[10])
local mine, all = 0, 0
for _, id in ipairs(redis.call('ZRANGE', tag .. ':index', 0, -1)) do
  local f = redis.call('HMGET', tag .. ':r:' .. id, 'state', 'lease', 'by')
  if not f[1] then
    redis.call('ZREM', tag .. ':index', id)
  elseif (f[1] == 'running' or f[1] == 'paused') and tonumber(f[2]) >= now then
    all = all + 1
    if f[3] == ARGV[7] then mine = mine + 1 end
  end
end
if mine >= tonumber(ARGV[8]) then return {'instance', mine} end
if all >= tonumber(ARGV[9]) then return {'total', all} end
redis.call('HSET', key, 'static', ARGV[2], 'state', ARGV[3], 'progress', ARGV[4], 'end', ARGV[5], 'lease', ARGV[6], 'by', ARGV[7], 'stop', '0')
redis.call('PEXPIRE', key, ARGV[11])
redis.call('ZADD', tag .. ':index', ARGV[12], ARGV[1])
return {'ok', 0}
`;

const CONTROL = `
local state, stop = unpack(redis.call('HMGET', KEYS[1], 'state', 'stop'))
if not state then return false end
if ARGV[1] == 'pause' and state == 'running' and stop == '0' then redis.call('HSET', KEYS[1], 'state', 'paused')
elseif ARGV[1] == 'resume' and state == 'paused' and stop == '0' then redis.call('HSET', KEYS[1], 'state', 'running')
elseif ARGV[1] == 'stop' and (state == 'running' or state == 'paused') then redis.call('HSET', KEYS[1], 'stop', '1') end
return redis.call('HGETALL', KEYS[1])
`;

const RENEW = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return false end
if state == 'running' or state == 'paused' then redis.call('HSET', KEYS[1], 'progress', ARGV[1], 'lease', ARGV[2]) end
return redis.call('HGETALL', KEYS[1])
`;

const FINISH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'progress', ARGV[2], 'end', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;

const MARK_LOST = `
local state, lease = unpack(redis.call('HMGET', KEYS[1], 'state', 'lease'))
if (state == 'running' or state == 'paused') and tonumber(lease) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'state', 'failed', 'end', ARGV[2])
end
return 1
`;

const SCRIPTS = { replayClaim: [1, CLAIM], replayControl: [1, CONTROL], replayRenew: [1, RENEW], replayFinish: [1, FINISH], replayMarkLost: [1, MARK_LOST] } as const;
type ScriptName = keyof typeof SCRIPTS;
type Scripted = TrendsRedis & Record<ScriptName, (key: string, ...args: (string | number)[]) => Promise<unknown>>;

function withScripts(redis: TrendsRedis): Scripted {
  for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS)) if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
  return redis as Scripted;
}

const StaticSchema = ReplayStatusSchema.pick({ id: true, topic: true, from: true, to: true, speed: true, rescore: true, startedAt: true }).extend({
  modelVersion: z.string().nullable(),
  startedBy: z.string(),
});
const ProgressSchema = ReplayStatusSchema.pick({ progress: true, cursor: true, processed: true, alerts: true });
const EndSchema = ReplayStatusSchema.pick({ finishedAt: true, error: true });

/** A hash as HGETALL answers it (an object, or a flat list from a script) → the record; null when empty. */
function toRecord(fields: Record<string, string>): ReplayRecord | null {
  if (fields['static'] === undefined) return null;
  return {
    ...StaticSchema.parse(JSON.parse(fields['static'])),
    ...ProgressSchema.parse(JSON.parse(fields['progress'] ?? 'null')),
    ...EndSchema.parse(JSON.parse(fields['end'] ?? 'null')),
    state: ReplayStatusSchema.shape.state.parse(fields['state']),
    leaseUntil: Number(fields['lease']),
    stopRequested: fields['stop'] === '1',
  };
}

function fromFlat(flat: unknown): ReplayRecord | null {
  if (!Array.isArray(flat)) return null;
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
  return toRecord(fields);
}

/** Lua numbers: an unlimited count goes as the largest safe integer. */
const limitArg = (n: number): number => (Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER);

export function createRedisReplayRegistry(redis: TrendsRedis, options: { prefix?: string } = {}): ReplayRegistry {
  const tag = namespaceTag(options.prefix ?? 'moodstream:trends', 'replays');
  const key = (id: string): string => `${tag}:r:${id}`;
  const scripted = withScripts(redis);
  const wrap = <T>(what: string, fn: () => Promise<T>): Promise<T> => redisCall(`replay ${what}`, fn);
  const progressOf = (r: Pick<ReplayRecord, 'progress' | 'cursor' | 'processed' | 'alerts'>): string =>
    JSON.stringify({ progress: r.progress, cursor: r.cursor, processed: r.processed, alerts: r.alerts });

  return {
    kind: 'redis',
    claim(record, limits, now, ttlMs) {
      return wrap('claim', async () => {
        const { id, topic, from, to, speed, rescore, startedAt, modelVersion, startedBy } = record;
        const [outcome, active] = (await scripted.replayClaim(
          tag,
          id,
          JSON.stringify({ id, topic, from, to, speed, rescore, startedAt, modelVersion, startedBy }),
          record.state,
          progressOf(record),
          JSON.stringify({ finishedAt: record.finishedAt, error: record.error }),
          record.leaseUntil,
          startedBy,
          limitArg(limits.perInstance),
          limitArg(limits.total),
          now,
          Math.max(1, Math.round(ttlMs)),
          startedAt,
        )) as [string, number];
        if (outcome === 'ok') return { ok: true };
        if (outcome === 'exists') return { ok: false, reason: 'exists' };
        return { ok: false, reason: outcome === 'instance' ? 'instance' : 'total', active: Number(active) } satisfies ClaimOutcome;
      });
    },
    get: (id) => wrap('get', async () => toRecord(await redis.hgetall(key(id)))),
    list: () =>
      wrap('list', async () => {
        const ids = await redis.zrevrange(`${tag}:index`, 0, -1);
        const records = await Promise.all(ids.map(async (id) => toRecord(await redis.hgetall(key(id)))));
        return records.filter((r): r is ReplayRecord => r !== null).sort((a, b) => b.startedAt - a.startedAt);
      }),
    control: (id, action) => wrap('control', async () => fromFlat(await scripted.replayControl(key(id), action))),
    renew: (id, progress, leaseUntil) => wrap('renew', async () => fromFlat(await scripted.replayRenew(key(id), progressOf(progress), leaseUntil))),
    finish: (id, end, ttlMs) =>
      wrap('finish', async () => {
        await scripted.replayFinish(key(id), end.state, progressOf(end), JSON.stringify({ finishedAt: end.finishedAt, error: end.error }), Math.max(1, Math.round(ttlMs)));
      }),
    markLost: (id, now, error) =>
      wrap('markLost', async () => {
        const record = await redis.hget(key(id), 'lease');
        if (record === null) return;
        await scripted.replayMarkLost(key(id), now, JSON.stringify({ finishedAt: Number(record), error }));
      }),
  };
}
