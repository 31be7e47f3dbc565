import type { Cluster, Redis } from 'ioredis';
import { MoodstreamError } from '@moodstream/core';
import { EMOTION_COUNT } from '@moodstream/events';
import { MICRO } from './bucket';
import type { BucketRef } from './store';
import { bucketStart, WINDOW_SIZES } from './windows';
import type { TermTable, WordShiftGroup, WordShiftStore } from './word-shift';
import { MASS_WIDTH, termPriority } from './word-shift-terms';


/** Special hash fields: a leading \x01 never starts a term. */
const OTHER_FIELD = '\u0001o';
const THRESHOLD_PRIORITY_FIELD = '\u0001tp';
const THRESHOLD_TERM_FIELD = '\u0001tt';

/**
 * One script call per (topic, 1-minute bucket) group: the post ids new to the group's seen-set (SMISMEMBER, one
 * variadic SADD) spread their masses over their terms (termMasses: the same integer split), summed per term, then
 * added to the 1 m table and every roll-up with the bounded-table rule of word-shift-table.ts (applyDelta): a known
 * term adds up, a new one enters while below the table's threshold, else its mass goes to "other"; a table over
 * `cap` terms evicts its highest-priority terms into "other" and lowers its threshold. Dedupe and increments share
 * one atomic script, so a redelivered batch adds nothing.
 * A table is a hash: term → "priority weight s0 … s5", plus \x01o (other's mass) and \x01tp/\x01tt (threshold).
 *
 * KEYS: seen set, then the table of each window size (finest first) — one topic's keys, one hash tag, one slot.
 * ARGV: seenTtlMs, cap, ttlMs × sizes, termCount, (term, priority) × termCount,
 *       postCount, (id, k, p0..p5, termIndex × k) × postCount
 * Returns the number of new posts.
 */
const APPLY_SCRIPT = `
local W = ${MASS_WIDTH}
local MICRO = ${MICRO}
local nsizes = #KEYS - 1
local seenTtl = ARGV[1]
local cap = tonumber(ARGV[2])
local i = 3
local ttls = {}
for s = 1, nsizes do ttls[s] = ARGV[i]; i = i + 1 end
local nt = tonumber(ARGV[i]); i = i + 1
local tname, tprio = {}, {}
for t = 1, nt do tname[t] = ARGV[i]; tprio[t] = tonumber(ARGV[i + 1]); i = i + 2 end
local np = tonumber(ARGV[i]); i = i + 1
local ids, pk, pm, pt = {}, {}, {}, {}
for p = 1, np do
  ids[p] = ARGV[i]
  local k = tonumber(ARGV[i + 1])
  pk[p] = k
  local m = {}
  for e = 1, W - 1 do m[e] = tonumber(ARGV[i + 1 + e]) end
  pm[p] = m
  local ts = {}
  for j = 1, k do ts[j] = tonumber(ARGV[i + W + j]) end
  pt[p] = ts
  i = i + W + 1 + k
end
local flags = {}
for c = 0, np - 1, 4000 do
  local chunk = {}
  for p = c + 1, math.min(np, c + 4000) do chunk[#chunk + 1] = ids[p] end
  local f = redis.call('SMISMEMBER', KEYS[1], unpack(chunk))
  for j = 1, #f do flags[c + j] = f[j] end
end
local function split(total, k, index0)
  local base = math.floor(total / k)
  if index0 < total - base * k then return base + 1 end
  return base
end
local fresh, delta, order = {}, {}, {}
local dother = {}
for e = 1, W do dother[e] = 0 end
for p = 1, np do
  if flags[p] == 0 then
    fresh[#fresh + 1] = ids[p]
    local k, m = pk[p], pm[p]
    if k == 0 then
      dother[1] = dother[1] + MICRO
      for e = 1, W - 1 do dother[1 + e] = dother[1 + e] + m[e] end
    else
      for j = 1, k do
        local t = pt[p][j]
        local d = delta[t]
        if d == nil then
          d = {}
          for e = 1, W do d[e] = 0 end
          delta[t] = d
          order[#order + 1] = t
        end
        d[1] = d[1] + split(MICRO, k, j - 1)
        for e = 1, W - 1 do d[1 + e] = d[1 + e] + split(m[e], k, j - 1) end
      end
    end
  end
end
for c = 1, #fresh, 4000 do redis.call('SADD', KEYS[1], unpack(fresh, c, math.min(#fresh, c + 3999))) end
if np > 0 then redis.call('PEXPIRE', KEYS[1], seenTtl) end
if #fresh == 0 then return 0 end

local function parse(text)
  local out = {}
  for word in string.gmatch(text, '%S+') do out[#out + 1] = tonumber(word) end
  return out
end
local function fmt(values, from)
  local parts = {}
  for j = from, #values do parts[#parts + 1] = string.format('%.0f', values[j]) end
  return table.concat(parts, ' ')
end
local OTHER, TP, TT = '\\001o', '\\001tp', '\\001tt'
for s = 1, nsizes do
  local key = KEYS[1 + s]
  local meta = redis.call('HMGET', key, OTHER, TP, TT)
  local other = {}
  if meta[1] then other = parse(meta[1]) else for e = 1, W do other[e] = 0 end end
  local tp, tt = tonumber(meta[2]), meta[3]
  local existing = {}
  for c = 1, #order, 4000 do
    local fields = {}
    for j = c, math.min(#order, c + 3999) do fields[#fields + 1] = tname[order[j]] end
    local values = redis.call('HMGET', key, unpack(fields))
    for j = 1, #values do existing[c + j - 1] = values[j] end
  end
  local writes = {}
  local added = 0
  for j = 1, #order do
    local t = order[j]
    local d = delta[t]
    local v = existing[j]
    if v then
      local n = parse(v)
      for e = 1, W do n[1 + e] = n[1 + e] + d[e] end
      writes[#writes + 1] = tname[t]; writes[#writes + 1] = fmt(n, 1)
    elseif tp == nil or tprio[t] < tp or (tprio[t] == tp and tname[t] < tt) then
      writes[#writes + 1] = tname[t]; writes[#writes + 1] = string.format('%.0f', tprio[t]) .. ' ' .. fmt(d, 1)
      added = added + 1
    else
      for e = 1, W do other[e] = other[e] + d[e] end
    end
  end
  for e = 1, W do other[e] = other[e] + dother[e] end
  for c = 1, #writes, 4000 do redis.call('HSET', key, unpack(writes, c, math.min(#writes, c + 3999))) end
  redis.call('HSET', key, OTHER, fmt(other, 1))
  if added > 0 then
    local special = 1
    if tp ~= nil then special = 3 end
    if redis.call('HLEN', key) - special > cap then
      local all = redis.call('HGETALL', key)
      local ranked = {}
      for j = 1, #all, 2 do
        if string.byte(all[j], 1) ~= 1 then ranked[#ranked + 1] = {all[j], parse(all[j + 1])} end
      end
      table.sort(ranked, function(a, b) return a[2][1] < b[2][1] or (a[2][1] == b[2][1] and a[1] < b[1]) end)
      local drop = {}
      for j = cap + 1, #ranked do
        local n = ranked[j][2]
        for e = 1, W do other[e] = other[e] + n[1 + e] end
        drop[#drop + 1] = ranked[j][1]
      end
      for c = 1, #drop, 4000 do redis.call('HDEL', key, unpack(drop, c, math.min(#drop, c + 3999))) end
      local first = ranked[cap + 1]
      redis.call('HSET', key, OTHER, fmt(other, 1), TP, string.format('%.0f', first[2][1]), TT, first[1])
    end
  end
  redis.call('PEXPIRE', key, ttls[s])
end
return #fresh
`;

/** Posts per script call, as in the bucket store: amortises the round trip without stalling Redis for long. */
const POSTS_PER_CALL = 2_000;
const APPLY_COMMAND = 'moodstreamWordShiftApply';
/** Called with one array, [keyCount, ...keys, ...argv] (ioredis flattens it): spreading tens of thousands of arguments would overflow the stack. */
type ScriptedRedis = (Redis | Cluster) & { [APPLY_COMMAND]: (args: (string | number)[]) => Promise<number> };

function withApplyScript(redis: Redis | Cluster): ScriptedRedis {
  // No fixed key count: each call passes its own (the seen set and one table per window size).
  if (!(APPLY_COMMAND in redis)) redis.defineCommand(APPLY_COMMAND, { lua: APPLY_SCRIPT });
  return redis as ScriptedRedis;
}

export class WordShiftRedisError extends MoodstreamError {
  constructor(message: string, cause: unknown) {
    super('TRENDS_REDIS', message, { cause });
  }
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function parseTable(fields: Record<string, string>): TermTable | null {
  if (Object.keys(fields).length === 0) return null;
  const numbers = (text: string): number[] => text.split(' ').map(Number);
  const terms = new Map<string, number[]>();
  let other = new Array<number>(MASS_WIDTH).fill(0);
  let complete = true;
  for (const [field, value] of Object.entries(fields)) {
    if (field === OTHER_FIELD) other = numbers(value);
    else if (field === THRESHOLD_PRIORITY_FIELD) complete = false;
    else if (field !== THRESHOLD_TERM_FIELD) terms.set(field, numbers(value).slice(1));
  }
  return { terms, other, complete };
}

/**
 * Word-shift tables in Redis beside the bucket hashes. Every key of a topic shares the hash tag
 * `{prefix:ns:topic}` so one script call stays in one Redis Cluster slot: `…:ws:s:{start}` seen post ids per
 * 1 m bucket, `…:ws:t:{size}:{start}` the bounded term tables.
 */
export function createRedisWordShiftStore(redis: Redis | Cluster, options: { prefix?: string } = {}): WordShiftStore {
  const base = options.prefix ?? 'moodstream:trends';
  const tag = (ns: string, topic: string): string => `{${base}:${ns}:${topic}}`;
  const tableKey = (ns: string, ref: BucketRef): string => `${tag(ns, ref.topic)}:ws:t:${ref.size}:${ref.start}`;
  const seenKey = (ns: string, topic: string, start: number): string => `${tag(ns, topic)}:ws:s:${start}`;
  const scripted = withApplyScript(redis);

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof MoodstreamError) throw error;
      throw new WordShiftRedisError(`redis word-shift ${what} failed: ${(error as Error).message}`, error);
    }
  };

  return {
    kind: 'redis',

    apply(ns, groups, settings) {
      return wrap('apply', async () => {
        const ttls = WINDOW_SIZES.map((size) => Math.max(1, Math.round(settings.retention.bucketTtlMs[size])));
        const seenTtl = Math.max(1, Math.round(settings.retention.seenTtlMs));
        const calls: Promise<number>[] = [];
        for (const group of groups) {
          const keys = [seenKey(ns, group.topic, group.start), ...WINDOW_SIZES.map((size) => tableKey(ns, { topic: group.topic, size, start: bucketStart(group.start, size) }))];
          for (let offset = 0; offset < group.posts.length; offset += POSTS_PER_CALL) {
            calls.push(scripted[APPLY_COMMAND]([keys.length, ...keys].concat(callArgs(group, offset, seenTtl, settings.maxTerms, ttls))));
          }
        }
        await Promise.all(calls);
      });
    },

    readTables(ns, refs) {
      return wrap('read', async () => {
        if (refs.length === 0) return [];
        // A cluster refuses a pipeline across slots (a window and its baseline share the topic's slot, but callers
        // may mix topics): there each read goes out on its own, written together without waiting.
        if (redis.isCluster) return Promise.all(refs.map(async (ref) => parseTable(await redis.hgetall(tableKey(ns, ref)))));
        const pipeline = (redis as Redis).pipeline();
        for (const ref of refs) pipeline.hgetall(tableKey(ns, ref));
        const results = (await pipeline.exec()) ?? [];
        return results.map(([error, fields]) => {
          if (error) throw error;
          return parseTable(fields as Record<string, string>);
        });
      });
    },

    dropNamespace(ns) {
      return wrap('dropNamespace', async () => {
        const nodes = redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
        for (const node of nodes) {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'MATCH', `{${globEscape(`${base}:${ns}:`)}*}:ws:*`, 'COUNT', 1000);
            cursor = next;
            // Key by key: a cluster refuses a multi-key command across slots.
            await Promise.all(keys.map((key) => node.unlink(key)));
          } while (cursor !== '0');
        }
      });
    },
  };
}

function callArgs(group: WordShiftGroup, offset: number, seenTtl: number, cap: number, ttls: number[]): (string | number)[] {
  const posts = group.posts.slice(offset, offset + POSTS_PER_CALL);
  const index = new Map<string, number>();
  const termArgs: (string | number)[] = [];
  const postArgs: (string | number)[] = [posts.length];
  for (const post of posts) {
    postArgs.push(post.postId, post.terms.length);
    for (let e = 0; e < EMOTION_COUNT; e++) postArgs.push(post.micro[e] ?? 0);
    for (const term of post.terms) {
      let at = index.get(term);
      if (at === undefined) {
        at = index.size + 1;
        index.set(term, at);
        termArgs.push(term, termPriority(term));
      }
      postArgs.push(at);
    }
  }
  const head: (string | number)[] = [seenTtl, cap, ...ttls, index.size];
  return head.concat(termArgs, postArgs);
}
