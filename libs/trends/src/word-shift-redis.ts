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

/** Posts per script call, as in the bucket store (redis-store.ts says why 4,000). */
const POSTS_PER_CALL = 4_000;
/**
 * A call's delta entries are unsigned 32-bit: one call's mass of a term is at most POSTS_PER_CALL posts × MICRO
 * (4·10⁹ < 2³² ≈ 4.29·10⁹; keep POSTS_PER_CALL ≤ 4,294). The stored sums are doubles, exact for integers below 2⁵³ (9·10⁹ posts
 * in one bucket).
 */
/** Bytes of one delta entry: term index (0: posts without terms) and MASS_WIDTH masses, each u32 little-endian. */
const ENTRY_BYTES = 4 * (1 + MASS_WIDTH);

/** `first op a[k] …` over the mass components, spelled out so the script builds no loop or table per term. */
const lua = (template: (e: number) => string): string => Array.from({ length: MASS_WIDTH }, (_, e) => template(e)).join(', ');

/**
 * A table is a hash: term → its priority and masses as MASS_WIDTH + 1 little-endian doubles (Lua `struct`: one C call
 * to read or write a value, where the text encoding parsed and formatted MASS_WIDTH + 1 numbers per term in Lua),
 * \x01o → other's masses (MASS_WIDTH doubles), and \x01tp / \x01tt → the threshold (priority as decimal text, term).
 *
 * One script call per topic and chunk of a batch (every key it touches carries the topic's hash tag: one Redis Cluster
 * slot). The caller sums the call's posts per table in Node (every 1-minute group into its 1 m table and each
 * roll-up: deltaOf, the same integer split as termMasses) and sends one binary delta per table, so the script's work
 * grows with the distinct terms each table receives — one HMGET, one unpack, one pack and one HSET per term and
 * table — not with the posts, nor with the terms the table already holds.
 *
 * Those sums count every group of the call, so the script applies them only when every group is new: it first asks
 * each group's seen-set which of its ids it knows (SMISMEMBER). All groups new → the ids are added (SADD) and every
 * table delta applied. Otherwise nothing is written and the script returns each group's state (0 new, 1 all known —
 * a redelivery, 2 some known — a redelivery cut at other offsets, or a crash between two chunks); the caller drops
 * the known groups, sends the partly known ones again one post per group (each then all-new or all-known), and calls
 * again with the rest. Dedupe and increments share one atomic script per call, so a redelivered batch adds nothing.
 *
 * A delta is added with the bounded-table rule of word-shift-table.ts (applyDelta): a known term adds up, a new one
 * enters while below the table's threshold, else its mass goes to "other"; a table over `cap` terms evicts its
 * highest-priority terms into "other" and lowers its threshold.
 *
 * KEYS: the call's seen sets and tables.
 * ARGV: seenTtlMs, cap, tableCount, groupCount, (seenKeyIndex, ids (packNames: a MessagePack array of strings)) × groupCount,
 *       termNames (packed like the ids), termPriorities (a little-endian double each),
 *       (tableKeyIndex, ttlMs, delta) × tableCount, where delta is ENTRY_BYTES per term: u32 term index (0 for the
 *       posts without terms), MASS_WIDTH u32 masses.
 * Returns an empty list when it applied the call, else every group's state (see above) and wrote nothing.
 */
const APPLY_SCRIPT = `
local W = ${MASS_WIDTH}
local ENTRY = '<I4' .. string.rep('I4', W)
local ENTRY_BYTES = ${ENTRY_BYTES}
local VALUE = '<d' .. string.rep('d', W)
local MASSES = '<' .. string.rep('d', W)
local seenTtl = ARGV[1]
local cap = tonumber(ARGV[2])
local ntables = tonumber(ARGV[3])
local ngroups = tonumber(ARGV[4])
local i = 5
${LUA_UNPACK_NAMES}
local seenKeys, idLists, states = {}, {}, {}
local clash = false
for g = 1, ngroups do
  local seenKey = KEYS[tonumber(ARGV[i])]
  local ids = unpackNames(ARGV[i + 1])
  i = i + 2
  local np, known = #ids, 0
  for c = 1, np, 4000 do
    local f = redis.call('SMISMEMBER', seenKey, unpack(ids, c, math.min(np, c + 3999)))
    for j = 1, #f do known = known + f[j] end
  end
  local state = 0
  if known == np then state = 1 elseif known > 0 then state = 2 end
  if state ~= 0 then clash = true end
  seenKeys[g], idLists[g], states[g] = seenKey, ids, state
end
if clash then return states end
for g = 1, ngroups do
  local ids = idLists[g]
  for c = 1, #ids, 4000 do redis.call('SADD', seenKeys[g], unpack(ids, c, math.min(#ids, c + 3999))) end
  redis.call('PEXPIRE', seenKeys[g], seenTtl)
end
local tname = unpackNames(ARGV[i])
local prios = ARGV[i + 1]
i = i + 2
local OTHER, TP, TT = '\\001o', '\\001tp', '\\001tt'
for tt = 1, ntables do
  local key, ttl, delta = KEYS[tonumber(ARGV[i])], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local order, mass, n = {}, {}, 0
  local dother = nil
  for at = 1, #delta, ENTRY_BYTES do
    local v = {struct.unpack(ENTRY, delta, at)}
    if v[1] == 0 then dother = v else n = n + 1; order[n] = v[1]; mass[n] = v end
  end
  local meta = redis.call('HMGET', key, OTHER, TP, TT)
  local other
  if meta[1] then other = {struct.unpack(MASSES, meta[1])} else other = {${lua(() => '0')}} end
  local tp, tt2 = tonumber(meta[2]), meta[3]
  local existing = {}
  for c = 1, n, 4000 do
    local fields = {}
    for j = c, math.min(n, c + 3999) do fields[#fields + 1] = tname[order[j]] end
    local values = redis.call('HMGET', key, unpack(fields))
    for j = 1, #values do existing[c + j - 1] = values[j] end
  end
  local writes, w, added = {}, 0, 0
  for j = 1, n do
    local t, d, cur = order[j], mass[j], existing[j]
    if cur then
      local c = {struct.unpack(VALUE, cur)}
      writes[w + 1] = tname[t]
      writes[w + 2] = struct.pack(VALUE, c[1], ${lua((e) => `c[${e + 2}] + d[${e + 2}]`)})
      w = w + 2
    else
      local p = struct.unpack('<d', prios, (t - 1) * 8 + 1)
      if tp == nil or p < tp or (p == tp and tname[t] < tt2) then
        writes[w + 1] = tname[t]
        writes[w + 2] = struct.pack(VALUE, p, ${lua((e) => `d[${e + 2}]`)})
        w = w + 2
        added = added + 1
      else
        ${Array.from({ length: MASS_WIDTH }, (_, e) => `other[${e + 1}] = other[${e + 1}] + d[${e + 2}]`).join('; ')}
      end
    end
  end
  if dother then ${Array.from({ length: MASS_WIDTH }, (_, e) => `other[${e + 1}] = other[${e + 1}] + dother[${e + 2}]`).join('; ')} end
  for c = 1, w, 4000 do redis.call('HSET', key, unpack(writes, c, math.min(w, c + 3999))) end
  if added > 0 then
    local special = 0
    if meta[1] then special = 1 end
    if tp ~= nil then special = special + 2 end
    if redis.call('HLEN', key) - special > cap then
      -- Over the cap: rank every held term by (priority, term), keep the cap lowest.
      local all = redis.call('HGETALL', key)
      local ranked = {}
      for j = 1, #all, 2 do
        if string.byte(all[j], 1) ~= 1 then ranked[#ranked + 1] = {all[j], (struct.unpack('<d', all[j + 1])), all[j + 1]} end
      end
      table.sort(ranked, function(a, b) return a[2] < b[2] or (a[2] == b[2] and a[1] < b[1]) end)
      local drop = {}
      for j = cap + 1, #ranked do
        local name = ranked[j][1]
        local c = {struct.unpack(VALUE, ranked[j][3])}
        ${Array.from({ length: MASS_WIDTH }, (_, e) => `other[${e + 1}] = other[${e + 1}] + c[${e + 2}]`).join('; ')}
        drop[#drop + 1] = name
      end
      for c = 1, #drop, 4000 do redis.call('HDEL', key, unpack(drop, c, math.min(#drop, c + 3999))) end
      local first = ranked[cap + 1]
      redis.call('HSET', key, TP, string.format('%.0f', first[2]), TT, first[1])
    end
  end
  redis.call('HSET', key, OTHER, struct.pack(MASSES, ${lua((e) => `other[${e + 1}]`)}))
  redis.call('PEXPIRE', key, ttl)
end
return {}
`;

const APPLY_COMMAND = 'moodstreamWordShiftApply3';
/** Called with one array, [keyCount, ...keys, ...argv] (ioredis flattens it). Resolves with the groups' states, or [] once applied. */
type ScriptedRedis = (Redis | Cluster) & { [APPLY_COMMAND]: (args: (string | number | Buffer)[]) => Promise<number[]> };

function withApplyScript(redis: Redis | Cluster): ScriptedRedis {
  // No fixed key count: each call passes its own (its groups' seen sets and the tables they reach).
  if (!(APPLY_COMMAND in redis)) redis.defineCommand(APPLY_COMMAND, { lua: APPLY_SCRIPT });
  return redis as ScriptedRedis;
}

/** A group's state as the script reports it when it wrote nothing. */
const ALL_KNOWN = 1;
const SOME_KNOWN = 2;

function parseTable(fields: Record<string, Buffer>): TermTable | null {
  const names = Object.keys(fields);
  if (names.length === 0) return null;
  const doubles = (value: Buffer, from: number): number[] => Array.from({ length: MASS_WIDTH }, (_, e) => value.readDoubleLE((from + e) * 8));
  const terms = new Map<string, number[]>();
  let other = new Array<number>(MASS_WIDTH).fill(0);
  let complete = true;
  for (const field of names) {
    const value = fields[field]!;
    if (field === OTHER_FIELD) other = doubles(value, 0);
    else if (field === THRESHOLD_PRIORITY_FIELD) complete = false;
    else if (field !== THRESHOLD_TERM_FIELD) terms.set(field, doubles(value, 1));
  }
  return { terms, other, complete };
}

/**
 * Word-shift tables in Redis beside the bucket hashes. Every key of a topic shares the hash tag
 * `{prefix:ns:topic}` so one script call stays in one Redis Cluster slot: `…:ws:s:{start}` seen post ids per
 * 1 m bucket, `…:ws:b:{size}:{start}` the bounded term tables (binary values; the text-valued `ws:t:` tables of
 * earlier versions are no longer read and expire with their retention).
 */
export function createRedisWordShiftStore(redis: Redis | Cluster, options: { prefix?: string } = {}): WordShiftStore {
  const base = options.prefix ?? 'moodstream:trends';
  const tag = (ns: string, topic: string): string => `{${base}:${ns}:${topic}}`;
  const tableKey = (ns: string, ref: BucketRef): string => `${tag(ns, ref.topic)}:ws:b:${ref.size}:${ref.start}`;
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
        // Each round either applies a call whole or learns which of its groups were counted before: those are dropped
        // (all known) or sent again one post per group (some known), so every round leaves fewer undecided posts.
        let pending: readonly WordShiftGroup[] = groups;
        while (pending.length > 0) {
          const calls = chunkByTopic(pending);
          const states = await Promise.all(calls.map((call) => scripted[APPLY_COMMAND](callArgs(call, head, names))));
          const again: WordShiftGroup[] = [];
          states.forEach((list, c) => {
            list.forEach((state, g) => {
              const group = calls[c]![g]!;
              if (state === SOME_KNOWN) for (const post of group.posts) again.push({ topic: group.topic, start: group.start, posts: [post] });
              else if (state !== ALL_KNOWN) again.push(group);
            });
          });
          pending = again;
        }
      });
    },

    readTables(ns, refs) {
      return wrap('read', async () => {
        if (refs.length === 0) return [];
        // A cluster refuses a pipeline across slots (a window and its baseline share the topic's slot, but callers
        // may mix topics): there each read goes out on its own, written together without waiting.
        if (redis.isCluster) return Promise.all(refs.map(async (ref) => parseTable(await redis.hgetallBuffer(tableKey(ns, ref)))));
        const pipeline = (redis as Redis).pipeline();
        for (const ref of refs) pipeline.hgetallBuffer(tableKey(ns, ref));
        const results = (await pipeline.exec()) ?? [];
        return results.map(([error, fields]) => {
          if (error) throw error;
          return parseTable(fields as Record<string, Buffer>);
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

/** One table's summed delta in a call: term index → masses (index 0: posts without terms). */
interface TableSum {
  keyIndex: number;
  ttl: number;
  masses: Map<number, number[]>;
}

/** [keyCount, ...keys, ...argv] of one call: one topic's groups, summed per table (see APPLY_SCRIPT). */
function callArgs(groups: readonly WordShiftGroup[], head: { seenTtl: number; cap: number; ttls: number[] }, names: KeyNames): (string | number | Buffer)[] {
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
  const tables = new Map<string, TableSum>();
  const terms = new Map<string, number>();
  const priorities: number[] = [];
  const groupArgs: (string | number | Buffer)[] = [];
  for (const group of groups) {
    groupArgs.push(keyOf(names.seen(group.topic, group.start)), packNames(group.posts.map((post) => post.postId)));
    const delta = deltaOf(group.posts);
    // Term indexes of this group, once: the same masses go into the 1 m table and each roll-up.
    const entries: [number, number[]][] = [];
    for (const [term, { priority, mass }] of delta.terms) {
      let at = terms.get(term);
      if (at === undefined) {
        at = terms.size + 1;
        terms.set(term, at);
        priorities.push(priority);
      }
      entries.push([at, mass]);
    }
    if (delta.other[0] !== 0) entries.push([0, delta.other]);
    for (let s = 0; s < WINDOW_SIZES.length; s++) {
      const size = WINDOW_SIZES[s]!;
      const key = names.table({ topic: group.topic, size, start: bucketStart(group.start, size) });
      let table = tables.get(key);
      if (table === undefined) {
        table = { keyIndex: keyOf(key), ttl: head.ttls[s]!, masses: new Map() };
        tables.set(key, table);
      }
      for (const [at, mass] of entries) {
        const into = table.masses.get(at);
        if (into === undefined) table.masses.set(at, [...mass]);
        else for (let e = 0; e < MASS_WIDTH; e++) into[e] = into[e]! + mass[e]!;
      }
    }
  }
  const prioritiesBuffer = Buffer.allocUnsafe(priorities.length * 8);
  priorities.forEach((priority, i) => prioritiesBuffer.writeDoubleLE(priority, i * 8));
  const tableArgs: (number | Buffer)[] = [];
  for (const table of tables.values()) {
    const delta = Buffer.allocUnsafe(table.masses.size * ENTRY_BYTES);
    let at = 0;
    for (const [index, mass] of table.masses) {
      delta.writeUInt32LE(index, at);
      // writeUInt32LE throws on a value out of range: a call's masses stay below 2³² (POSTS_PER_CALL × MICRO).
      for (let e = 0; e < MASS_WIDTH; e++) delta.writeUInt32LE(mass[e]!, at + 4 * (e + 1));
      at += ENTRY_BYTES;
    }
    tableArgs.push(table.keyIndex, table.ttl, delta);
  }
  const argv: (string | number | Buffer)[] = [head.seenTtl, head.cap, tables.size, groups.length];
  return ([keys.length] as (string | number | Buffer)[]).concat(keys, argv, groupArgs, [packNames(terms.keys()), prioritiesBuffer], tableArgs);
}
