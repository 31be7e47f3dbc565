import type { Cluster, Redis } from 'ioredis';
import { MoodstreamError } from '@moodstream/core';
import { globEscape, RedisStoreError } from './redis-errors';
import { LUA_UNPACK_NAMES, packNames } from './redis-packed';
import type { BucketRef } from './store';
import { bucketStart, WINDOW_SIZES } from './windows';
import type { TermTable, WordShiftGroup, WordShiftStore } from './word-shift';
import { deltaOf } from './word-shift-table';
import { MASS_WIDTH } from './word-shift-terms';


/** Special hash fields: a leading \x01 never starts a term. */
const OTHER_FIELD = '\u0001o';
const THRESHOLD_PRIORITY_FIELD = '\u0001tp';
const THRESHOLD_TERM_FIELD = '\u0001tt';

/**
 * One script call per topic and chunk of a batch (every key it touches carries the topic's hash tag: one Redis
 * Cluster slot). The caller sends each 1-minute group pre-aggregated: its post ids and the summed masses of its posts
 * per term (deltaOf: the same integer split as termMasses), packed in two arguments, so the script's work grows with
 * the distinct terms of a group, not with its posts × terms. For each group the script asks the group's seen-set
 * which ids it knows (SMISMEMBER): none → the ids are added (one variadic SADD) and the group's delta counts; all →
 * nothing to do (a redelivery); some → the group is left untouched and its number returned, and the caller sends
 * those posts again one post per group (a crash between two chunks, or a redelivery cut at other offsets). Dedupe
 * and increments share one atomic script per call, so a redelivered batch adds nothing.
 * The deltas are summed per table (the 1 m table and every roll-up; groups of one hour share their 1 h table, so it is
 * read and written once per call) and added with the bounded-table rule of word-shift-table.ts (applyDelta): a known
 * term adds up, a new one enters while below the table's threshold, else its mass goes to "other"; a table over `cap`
 * terms evicts its highest-priority terms into "other" and lowers its threshold.
 * A table is a hash: term → "priority weight s0 … s5", plus \x01o (other's mass) and \x01tp/\x01tt (threshold).
 *
 * KEYS: the call's seen sets and tables.
 * ARGV: seenTtlMs, cap, sizeCount, tableCount, (tableKeyIndex, ttlMs) × tableCount,
 *       termNames (`length:term` each, length in bytes), termPriorities (`priority,` each),
 *       groupCount, (seenKeyIndex, tableIndex × sizeCount, ids (`length:id` each), delta) × groupCount
 *       where delta is `termIndex,weight,s0,…,s5,` per term of the group, termIndex 0 for the posts without terms.
 * Returns the numbers (1-based) of the groups it left untouched because the seen-set knew some of their ids only.
 */
const APPLY_SCRIPT = `
local W = ${MASS_WIDTH}
local seenTtl = ARGV[1]
local cap = tonumber(ARGV[2])
local nsizes = tonumber(ARGV[3])
local ntables = tonumber(ARGV[4])
local i = 5
local tkey, tttl = {}, {}
for t = 1, ntables do tkey[t] = KEYS[tonumber(ARGV[i])]; tttl[t] = ARGV[i + 1]; i = i + 2 end
${LUA_UNPACK_NAMES}
local tname = unpackNames(ARGV[i])
local tprio = {}
do
  local n = 0
  for p in string.gmatch(ARGV[i + 1], '([^,]*),') do n = n + 1; tprio[n] = tonumber(p) end
end
i = i + 2
local function zeros()
  local z = {}
  for e = 1, W do z[e] = 0 end
  return z
end
-- Per table: term index → summed mass, the order terms first came in, and the mass of posts without terms.
local deltas = {}
for t = 1, ntables do deltas[t] = {d = {}, order = {}, other = zeros(), touched = false} end
local skipped = {}
local ngroups = tonumber(ARGV[i]); i = i + 1
for g = 1, ngroups do
  local seenKey = KEYS[tonumber(ARGV[i])]; i = i + 1
  local slots = {}
  for s = 1, nsizes do slots[s] = tonumber(ARGV[i]); i = i + 1 end
  local ids = unpackNames(ARGV[i])
  local deltaText = ARGV[i + 1]
  i = i + 2
  local np = #ids
  local known = 0
  for c = 1, np, 4000 do
    local f = redis.call('SMISMEMBER', seenKey, unpack(ids, c, math.min(np, c + 3999)))
    for j = 1, #f do known = known + f[j] end
  end
  if np > 0 and known == 0 then
    for c = 1, np, 4000 do redis.call('SADD', seenKey, unpack(ids, c, math.min(np, c + 3999))) end
    local v, n = {}, 0
    for text in string.gmatch(deltaText, '([^,]*),') do n = n + 1; v[n] = tonumber(text) end
    for s = 1, nsizes do
      local D = deltas[slots[s]]
      D.touched = true
      local dd, order, other = D.d, D.order, D.other
      for b = 0, n - 1, W + 1 do
        local t = v[b + 1]
        if t == 0 then
          for e = 1, W do other[e] = other[e] + v[b + 1 + e] end
        else
          local into = dd[t]
          if into == nil then
            dd[t] = {v[b + 2], v[b + 3], v[b + 4], v[b + 5], v[b + 6], v[b + 7], v[b + 8]}
            order[#order + 1] = t
          else
            for e = 1, W do into[e] = into[e] + v[b + 1 + e] end
          end
        end
      end
    end
  elseif known > 0 and known < np then
    skipped[#skipped + 1] = g
  end
  if np > 0 then redis.call('PEXPIRE', seenKey, seenTtl) end
end

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
return skipped
`;

/** Posts per script call, as in the bucket store: amortises the round trip without stalling Redis for long. */
const POSTS_PER_CALL = 2_000;
const APPLY_COMMAND = 'moodstreamWordShiftApply2';
/** Called with one array, [keyCount, ...keys, ...argv] (ioredis flattens it). Resolves with the groups it left untouched. */
type ScriptedRedis = (Redis | Cluster) & { [APPLY_COMMAND]: (args: (string | number)[]) => Promise<number[]> };

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
        const run = async (list: readonly WordShiftGroup[]): Promise<WordShiftGroup[]> => {
          const calls = chunkByTopic(list);
          const skipped = await Promise.all(calls.map((call) => scripted[APPLY_COMMAND](callArgs(call, head, names))));
          return skipped.flatMap((numbers, c) => numbers.map((n) => calls[c]![n - 1]!));
        };
        const partial = await run(groups);
        if (partial.length === 0) return;
        // Groups some of whose posts were counted before: again one post per group, each then all-new or all-known.
        const single = partial.flatMap((group) => group.posts.map((post) => ({ topic: group.topic, start: group.start, posts: [post] })));
        const left = await run(single);
        if (left.length > 0) throw new RedisStoreError(`redis word-shift apply left ${left.length} single-post group(s) untouched`, null);
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

/**
 * One topic's groups cut into calls of at most POSTS_PER_CALL posts (a bigger group is split over calls: its seen-set
 * keeps that exact), so no call stalls Redis for long.
 */
function chunkByTopic(groups: readonly WordShiftGroup[]): WordShiftGroup[][] {
  const calls: WordShiftGroup[][] = [];
  const open = new Map<string, { list: WordShiftGroup[]; posts: number }>();
  for (const group of groups) {
    for (let offset = 0; offset < group.posts.length; offset += POSTS_PER_CALL) {
      const part = offset === 0 && group.posts.length <= POSTS_PER_CALL ? group : { ...group, posts: group.posts.slice(offset, offset + POSTS_PER_CALL) };
      let current = open.get(group.topic);
      if (current !== undefined && current.posts + part.posts.length > POSTS_PER_CALL) {
        calls.push(current.list);
        current = undefined;
      }
      if (current === undefined) {
        current = { list: [], posts: 0 };
        open.set(group.topic, current);
      }
      current.list.push(part);
      current.posts += part.posts.length;
    }
  }
  for (const { list } of open.values()) calls.push(list);
  return calls;
}

/** [keyCount, ...keys, ...argv] of one call: one topic's groups, each pre-aggregated (see APPLY_SCRIPT). */
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
  let priorities = '';
  const groupArgs: (string | number)[] = [groups.length];
  for (const group of groups) {
    groupArgs.push(keyOf(names.seen(group.topic, group.start)));
    for (let s = 0; s < WINDOW_SIZES.length; s++) {
      const size = WINDOW_SIZES[s]!;
      groupArgs.push(tableOf(names.table({ topic: group.topic, size, start: bucketStart(group.start, size) }), head.ttls[s]!));
    }
    const delta = deltaOf(group.posts);
    let packed = '';
    for (const [term, { priority, mass }] of delta.terms) {
      let at = terms.get(term);
      if (at === undefined) {
        at = terms.size + 1;
        terms.set(term, at);
        priorities += `${priority},`;
      }
      packed += `${at},${mass[0]},${mass[1]},${mass[2]},${mass[3]},${mass[4]},${mass[5]},${mass[6]},`;
    }
    const o = delta.other;
    if (o[0] !== 0) packed += `0,${o[0]},${o[1]},${o[2]},${o[3]},${o[4]},${o[5]},${o[6]},`;
    groupArgs.push(packNames(group.posts.map((post) => post.postId)), packed);
  }
  const argv: (string | number)[] = [head.seenTtl, head.cap, WINDOW_SIZES.length, tableIndex.size];
  return ([keys.length] as (string | number)[]).concat(keys, argv, tables, [packNames(terms.keys()), priorities], groupArgs);
}
