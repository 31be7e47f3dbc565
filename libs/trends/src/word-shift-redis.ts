import type { Cluster, Redis } from 'ioredis';
import { MoodstreamError } from '@moodstream/core';
import { EMOTION_COUNT } from '@moodstream/events';
import { MICRO } from './bucket';
import { globEscape, RedisStoreError } from './redis-errors';
import type { BucketRef } from './store';
import { bucketStart, WINDOW_SIZES } from './windows';
import type { TermTable, WordShiftGroup, WordShiftStore } from './word-shift';
import { MASS_WIDTH, termPriority } from './word-shift-terms';


/** Special hash fields: a leading \x01 never starts a term. */
const OTHER_FIELD = '\u0001o';
const THRESHOLD_PRIORITY_FIELD = '\u0001tp';
const THRESHOLD_TERM_FIELD = '\u0001tt';

/**
 * One script call per topic and chunk of a batch (every key it touches carries the topic's hash tag: one Redis
 * Cluster slot). For each of its 1-minute groups, the post ids new to the group's seen-set (SMISMEMBER, one variadic
 * SADD) spread their masses over their terms (termMasses: the same integer split); the masses are summed per table
 * (the 1 m table and every roll-up; groups of one hour share their 1 h table, so it is read and written once per call)
 * and added with the bounded-table rule of word-shift-table.ts (applyDelta): a known term adds up, a new one enters
 * while below the table's threshold, else its mass goes to "other"; a table over `cap` terms evicts its
 * highest-priority terms into "other" and lowers its threshold. Dedupe and increments share one atomic script, so a
 * redelivered batch adds nothing.
 * A table is a hash: term → "priority weight s0 … s5", plus \x01o (other's mass) and \x01tp/\x01tt (threshold).
 *
 * KEYS: the call's seen sets and tables.
 * ARGV: seenTtlMs, cap, sizeCount, tableCount, (tableKeyIndex, ttlMs) × tableCount, termCount, (term, priority) × termCount,
 *       groupCount, (seenKeyIndex, tableIndex × sizeCount, postCount, (id, k, p0..p5, termIndex × k) × postCount) × groupCount
 * Returns the number of new posts.
 */
const APPLY_SCRIPT = `
local W = ${MASS_WIDTH}
local MICRO = ${MICRO}
local seenTtl = ARGV[1]
local cap = tonumber(ARGV[2])
local nsizes = tonumber(ARGV[3])
local ntables = tonumber(ARGV[4])
local i = 5
local tkey, tttl = {}, {}
for t = 1, ntables do tkey[t] = KEYS[tonumber(ARGV[i])]; tttl[t] = ARGV[i + 1]; i = i + 2 end
local nt = tonumber(ARGV[i]); i = i + 1
local tname, tprio = {}, {}
for t = 1, nt do tname[t] = ARGV[i]; tprio[t] = tonumber(ARGV[i + 1]); i = i + 2 end
local function split(total, k, index0)
  local base = math.floor(total / k)
  if index0 < total - base * k then return base + 1 end
  return base
end
local function zeros()
  local z = {}
  for e = 1, W do z[e] = 0 end
  return z
end
-- Per table: term index → summed mass, the order terms first came in, and the mass of posts without terms.
local deltas = {}
for t = 1, ntables do deltas[t] = {d = {}, order = {}, other = zeros(), touched = false} end
local total = 0
local ngroups = tonumber(ARGV[i]); i = i + 1
for g = 1, ngroups do
  local seenKey = KEYS[tonumber(ARGV[i])]; i = i + 1
  local slots = {}
  for s = 1, nsizes do slots[s] = tonumber(ARGV[i]); i = i + 1 end
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
    local f = redis.call('SMISMEMBER', seenKey, unpack(chunk))
    for j = 1, #f do flags[c + j] = f[j] end
  end
  -- The group's own delta first (one entry per term), then added to each of its tables.
  local gd, gorder, gother = {}, {}, zeros()
  local fresh = {}
  for p = 1, np do
    if flags[p] == 0 then
      fresh[#fresh + 1] = ids[p]
      local k, m = pk[p], pm[p]
      if k == 0 then
        gother[1] = gother[1] + MICRO
        for e = 1, W - 1 do gother[1 + e] = gother[1 + e] + m[e] end
      else
        for j = 1, k do
          local t = pt[p][j]
          local d = gd[t]
          if d == nil then
            d = zeros()
            gd[t] = d
            gorder[#gorder + 1] = t
          end
          d[1] = d[1] + split(MICRO, k, j - 1)
          for e = 1, W - 1 do d[1 + e] = d[1 + e] + split(m[e], k, j - 1) end
        end
      end
    end
  end
  for c = 1, #fresh, 4000 do redis.call('SADD', seenKey, unpack(fresh, c, math.min(#fresh, c + 3999))) end
  if np > 0 then redis.call('PEXPIRE', seenKey, seenTtl) end
  total = total + #fresh
  if #fresh > 0 then
    for s = 1, nsizes do
      local D = deltas[slots[s]]
      D.touched = true
      for _, t in ipairs(gorder) do
        local into = D.d[t]
        local from = gd[t]
        if into == nil then
          D.d[t] = {from[1], from[2], from[3], from[4], from[5], from[6], from[7]}
          D.order[#D.order + 1] = t
        else
          for e = 1, W do into[e] = into[e] + from[e] end
        end
      end
      for e = 1, W do D.other[e] = D.other[e] + gother[e] end
    end
  end
end
if total == 0 then return 0 end

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
for tt = 1, ntables do
  local D = deltas[tt]
  if D.touched then
  local key = tkey[tt]
  local delta, order = D.d, D.order
  local meta = redis.call('HMGET', key, OTHER, TP, TT)
  local other = {}
  if meta[1] then other = parse(meta[1]) else other = zeros() end
  local tp, tt2 = tonumber(meta[2]), meta[3]
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
    elseif tp == nil or tprio[t] < tp or (tprio[t] == tp and tname[t] < tt2) then
      writes[#writes + 1] = tname[t]; writes[#writes + 1] = string.format('%.0f', tprio[t]) .. ' ' .. fmt(d, 1)
      added = added + 1
    else
      for e = 1, W do other[e] = other[e] + d[e] end
    end
  end
  for e = 1, W do other[e] = other[e] + D.other[e] end
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
  redis.call('PEXPIRE', key, tttl[tt])
  end
end
return total
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
      throw new RedisStoreError(`redis word-shift ${what} failed: ${(error as Error).message}`, error);
    }
  };

  return {
    kind: 'redis',

    apply(ns, groups, settings) {
      return wrap('apply', async () => {
        const ttls = WINDOW_SIZES.map((size) => Math.max(1, Math.round(settings.retention.bucketTtlMs[size])));
        const seenTtl = Math.max(1, Math.round(settings.retention.seenTtlMs));
        const head = { seenTtl, cap: settings.maxTerms, ttls };
        const names: KeyNames = { seen: (topic, start) => seenKey(ns, topic, start), table: (ref) => tableKey(ns, ref) };
        const calls: Promise<number>[] = [];
        // One call per topic and chunk of at most POSTS_PER_CALL posts (a bigger group is split over calls: its
        // seen-set keeps that exact).
        const byTopic = new Map<string, WordShiftGroup[]>();
        for (const group of groups) {
          for (let offset = 0; offset < group.posts.length; offset += POSTS_PER_CALL) {
            const part = { ...group, posts: group.posts.slice(offset, offset + POSTS_PER_CALL) };
            const list = byTopic.get(group.topic) ?? [];
            byTopic.set(group.topic, list);
            const size = list.reduce((n, g) => n + g.posts.length, 0);
            if (size + part.posts.length > POSTS_PER_CALL && list.length > 0) {
              calls.push(scripted[APPLY_COMMAND](callArgs(list, head, names)));
              list.length = 0;
            }
            list.push(part);
          }
        }
        for (const list of byTopic.values()) if (list.length > 0) calls.push(scripted[APPLY_COMMAND](callArgs(list, head, names)));
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

/** A namespace's key names. */
interface KeyNames {
  seen: (topic: string, start: number) => string;
  table: (ref: BucketRef) => string;
}

/** [keyCount, ...keys, ...argv] of one call: one topic's groups (see APPLY_SCRIPT). */
function callArgs(groups: readonly WordShiftGroup[], head: { seenTtl: number; cap: number; ttls: number[] }, names: KeyNames): (string | number)[] {
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  const keyOf = (key: string): number => {
    let at = keyIndex.get(key);
    if (at === undefined) {
      keys.push(key);
      at = keys.length;
      keyIndex.set(key, at);
    }
    return at;
  };
  const tables: (string | number)[] = [];
  const tableIndex = new Map<string, number>();
  const tableOf = (key: string, ttl: number): number => {
    let at = tableIndex.get(key);
    if (at === undefined) {
      tables.push(keyOf(key), ttl);
      at = tableIndex.size + 1;
      tableIndex.set(key, at);
    }
    return at;
  };
  const terms = new Map<string, number>();
  const termArgs: (string | number)[] = [];
  const groupArgs: (string | number)[] = [groups.length];
  for (const group of groups) {
    groupArgs.push(keyOf(names.seen(group.topic, group.start)));
    WINDOW_SIZES.forEach((size, s) => groupArgs.push(tableOf(names.table({ topic: group.topic, size, start: bucketStart(group.start, size) }), head.ttls[s]!)));
    groupArgs.push(group.posts.length);
    for (const post of group.posts) {
      groupArgs.push(post.postId, post.terms.length);
      for (let e = 0; e < EMOTION_COUNT; e++) groupArgs.push(post.micro[e] ?? 0);
      for (const term of post.terms) {
        let at = terms.get(term);
        if (at === undefined) {
          at = terms.size + 1;
          terms.set(term, at);
          termArgs.push(term, termPriority(term));
        }
        groupArgs.push(at);
      }
    }
  }
  const argv: (string | number)[] = [head.seenTtl, head.cap, WINDOW_SIZES.length, tableIndex.size];
  return ([keys.length] as (string | number)[]).concat(keys, argv, tables, [terms.size], termArgs, groupArgs);
}
