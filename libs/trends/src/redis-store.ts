import type { Redis } from 'ioredis';
import { MoodstreamError } from '@moodstream/core';
import { AlertSchema, EMOTION_COUNT, EMOTIONS, WINDOW_MS, type Alert } from '@moodstream/events';
import { ExamplePostSchema, type ExamplePost } from './api-types';
import { statsFromFields, type BucketStats, type Contribution } from './bucket';
import { namespaceOfAlert, type ApplyResult, type BucketRef, type TrendsStore } from './store';
import { WINDOW_SIZES } from './windows';
import { createRedisWordShiftStore } from './word-shift-redis';

/**
 * The script below keeps one Lua local per emotion (p1..p6, q1..q6: locals are what makes the per-post loop fast),
 * so it is written for exactly six emotions; this line stops the type check if EMOTIONS ever changes length.
 */
const SCRIPT_EMOTIONS: 6 = EMOTION_COUNT;

/**
 * One script call per chunk of a batch: for every (topic, 1-minute bucket) group, the post ids new to the bucket's
 * seen-set (SMISMEMBER, then one variadic SADD) contribute to sums merged per target bucket (1 m and every
 * roll-up), written with one HINCRBY per field. Dedupe and increments share one atomic script, so a redelivered
 * batch adds nothing — even if a first attempt died half-way through a pipeline, each chunk is all-or-nothing.
 * A post's numbers travel once per call; its topics' groups refer to it by index.
 * Keys are derived inside the script (single Redis node; not cluster-safe by design).
 *
 * Sent through ioredis `defineCommand` (EVALSHA, and EVAL once per connection when Redis lacks the script).
 *
 * ARGV: prefix, sizeCount, (name, ms, ttlMs) × sizeCount, seenTtlMs, keepExamples,
 *       postCount, (id, p0..p5, top, explicit) × postCount,
 *       groupCount, (topic, start, lastSeen, memberCount, postIndex × memberCount) × groupCount,
 *       exampleCount, (sizeIndex, topic, start, emotion, score, id, body) × exampleCount
 * Returns: new-post count per group.
 */
const APPLY_SCRIPT = `
local E = ${SCRIPT_EMOTIONS}
local prefix = ARGV[1]
local nsizes = tonumber(ARGV[2])
local names, sizes, ttls = {}, {}, {}
local i = 3
for s = 1, nsizes do
  names[s] = ARGV[i]; sizes[s] = tonumber(ARGV[i + 1]); ttls[s] = ARGV[i + 2]; i = i + 3
end
local seenTtl = ARGV[i]
local keep = tonumber(ARGV[i + 1])
local nposts = tonumber(ARGV[i + 2])
i = i + 3
local pid, pm, pq, ptop, px = {}, {}, {}, {}, {}
for k = 1, nposts do
  pid[k] = ARGV[i]
  local base = (k - 1) * E
  for e = 1, E do
    local m = tonumber(ARGV[i + e])
    pm[base + e] = m
    pq[base + e] = math.floor(m * m / 1000000 + 0.5)
  end
  ptop[k] = tonumber(ARGV[i + 7]) + 1
  px[k] = ARGV[i + 8] == '1'
  i = i + 9
end
local ngroups = tonumber(ARGV[i])
i = i + 1
local added = {}
local deltas, order = {}, {}
local lastSeen = {}
for g = 1, ngroups do
  local topic, start, seen, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  i = i + 4
  local seenKey = prefix .. ':s:' .. topic .. ':' .. start
  local cnt, x = 0, 0
  local p1, p2, p3, p4, p5, p6 = 0, 0, 0, 0, 0, 0
  local q1, q2, q3, q4, q5, q6 = 0, 0, 0, 0, 0, 0
  local t = {}
  for e = 1, E do t[e] = 0 end
  local members = {}
  for k = 1, n do members[k] = tonumber(ARGV[i + k - 1]) end
  i = i + n
  -- One SMISMEMBER and one variadic SADD per chunk instead of a call per post (ids within a group are
  -- distinct: the plan deduplicates them). Chunks stay under Lua's unpack limit.
  local known = {}
  local fresh = {}
  for c = 0, n - 1, 4000 do
    local ids = {}
    for k = c + 1, math.min(n, c + 4000) do ids[#ids + 1] = pid[members[k]] end
    local flags = redis.call('SMISMEMBER', seenKey, unpack(ids))
    for k = 1, #flags do known[c + k] = flags[k] end
  end
  for k = 1, n do
    if known[k] == 0 then
      local post = members[k]
      fresh[#fresh + 1] = pid[post]
      cnt = cnt + 1
      local b = (post - 1) * E
      p1, p2, p3, p4, p5, p6 = p1 + pm[b + 1], p2 + pm[b + 2], p3 + pm[b + 3], p4 + pm[b + 4], p5 + pm[b + 5], p6 + pm[b + 6]
      q1, q2, q3, q4, q5, q6 = q1 + pq[b + 1], q2 + pq[b + 2], q3 + pq[b + 3], q4 + pq[b + 4], q5 + pq[b + 5], q6 + pq[b + 6]
      local top = ptop[post]
      t[top] = t[top] + 1
      if px[post] then x = x + 1 end
    end
  end
  for c = 1, #fresh, 4000 do redis.call('SADD', seenKey, unpack(fresh, c, math.min(#fresh, c + 3999))) end
  if n > 0 then redis.call('PEXPIRE', seenKey, seenTtl) end
  if cnt > 0 then
    local startNum = tonumber(start)
    for s = 1, nsizes do
      local key = prefix .. ':b:' .. names[s] .. ':' .. topic .. ':' .. string.format('%.0f', math.floor(startNum / sizes[s]) * sizes[s])
      local d = deltas[key]
      if d == nil then
        d = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, s}
        deltas[key] = d
        order[#order + 1] = key
      end
      d[1] = d[1] + cnt; d[2] = d[2] + x
      d[3] = d[3] + p1; d[4] = d[4] + p2; d[5] = d[5] + p3; d[6] = d[6] + p4; d[7] = d[7] + p5; d[8] = d[8] + p6
      d[9] = d[9] + q1; d[10] = d[10] + q2; d[11] = d[11] + q3; d[12] = d[12] + q4; d[13] = d[13] + q5; d[14] = d[14] + q6
      for e = 1, E do d[14 + e] = d[14 + e] + t[e] end
    end
    if lastSeen[topic] == nil or lastSeen[topic] < seen then lastSeen[topic] = seen end
  end
  added[g] = cnt
end
local fields = {'n', 'x', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'q0', 'q1', 'q2', 'q3', 'q4', 'q5', 't0', 't1', 't2', 't3', 't4', 't5'}
for _, key in ipairs(order) do
  local d = deltas[key]
  for f = 1, 20 do
    if d[f] ~= 0 then redis.call('HINCRBY', key, fields[f], string.format('%.0f', d[f])) end
  end
  redis.call('PEXPIRE', key, ttls[d[21]])
end
local topicsKey = prefix .. ':topics'
local touched = false
for topic, seen in pairs(lastSeen) do
  redis.call('ZADD', topicsKey, 'GT', string.format('%.0f', seen), topic)
  touched = true
end
if touched then redis.call('PEXPIRE', topicsKey, ttls[nsizes]) end
local nex = tonumber(ARGV[i])
i = i + 1
for k = 1, nex do
  local s, topic, start, emotion, score, id, body = tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  i = i + 7
  local zkey = prefix .. ':e:' .. names[s] .. ':' .. topic .. ':' .. start .. ':' .. emotion
  local hkey = zkey .. ':body'
  if redis.call('ZADD', zkey, score, id) == 1 then
    redis.call('HSET', hkey, id, body)
    local over = redis.call('ZCARD', zkey) - keep
    if over > 0 then
      local popped = redis.call('ZPOPMIN', zkey, over)
      for j = 1, #popped, 2 do redis.call('HDEL', hkey, popped[j]) end
    end
  end
  redis.call('PEXPIRE', zkey, ttls[s])
  redis.call('PEXPIRE', hkey, ttls[s])
end
return added
`;

/** Posts per script call: big enough to amortise the round trip, small enough not to stall Redis for long. */
const POSTS_PER_CALL = 2_000;

/** The name the apply script is defined under on the client (ioredis `defineCommand`). */
const APPLY_COMMAND = 'moodstreamTrendsApply';

/** The client once the apply script is defined on it. */
type ScriptedRedis = Redis & { [APPLY_COMMAND]: (args: (string | number)[]) => Promise<number[]> };

/**
 * Defines the apply script on the client (once per client: the dashboard shares its client). ioredis sends it as
 * EVALSHA and falls back to EVAL when Redis answers NOSCRIPT (a restart, SCRIPT FLUSH).
 */
function withApplyScript(redis: Redis): ScriptedRedis {
  if (!(APPLY_COMMAND in redis)) redis.defineCommand(APPLY_COMMAND, { numberOfKeys: 0, lua: APPLY_SCRIPT });
  return redis as ScriptedRedis;
}

export class RedisStoreError extends MoodstreamError {
  constructor(message: string, cause: unknown) {
    super('TRENDS_REDIS', message, { cause });
  }
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/**
 * The distributed-mode store. Layout under `${prefix}:${ns}`: `b:{size}:{topic}:{start}` bucket hashes,
 * `s:{topic}:{start}` seen post ids per 1 m bucket, `e:{size}:{topic}:{start}:{emotion}` example zsets
 * (+ `:body` hashes), `topics` zset (score: newest post), `state:{name}`, `alerts` / `alerts:{topic}` zsets;
 * alert bodies at `${prefix}:alert:{id}`.
 */
export function createRedisTrendsStore(redis: Redis, options: { prefix?: string } = {}): TrendsStore {
  const base = options.prefix ?? 'moodstream:trends';
  const nsPrefix = (ns: string): string => `${base}:${ns}`;
  const bucketKey = (ns: string, ref: BucketRef): string => `${nsPrefix(ns)}:b:${ref.size}:${ref.topic}:${ref.start}`;
  const exampleKey = (ns: string, ref: BucketRef, emotion: number): string => `${nsPrefix(ns)}:e:${ref.size}:${ref.topic}:${ref.start}:${emotion}`;
  const alertKey = (id: string): string => `${base}:alert:${id}`;
  const alertIndex = (ns: string, topic?: string): string => (topic === undefined ? `${nsPrefix(ns)}:alerts` : `${nsPrefix(ns)}:alerts:${topic}`);
  const scripted = withApplyScript(redis);

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof MoodstreamError) throw error;
      throw new RedisStoreError(`redis ${what} failed: ${(error as Error).message}`, error);
    }
  };

  // One array argument (ioredis flattens it): spreading tens of thousands of arguments into a call would overflow the stack.
  const evalApply = (args: (string | number)[]): Promise<number[]> => scripted[APPLY_COMMAND](args);

  const parseAlert = (json: string | null): Alert | null => (json === null ? null : AlertSchema.parse(JSON.parse(json)));

  return {
    kind: 'redis',
    wordShift: createRedisWordShiftStore(redis, { prefix: base }),

    apply(ns, plan, retention) {
      return wrap('apply', async (): Promise<ApplyResult> => {
        const head: (string | number)[] = [nsPrefix(ns), WINDOW_SIZES.length];
        for (const size of WINDOW_SIZES) head.push(size, WINDOW_MS[size], Math.max(1, Math.round(retention.bucketTtlMs[size])));
        head.push(Math.max(1, Math.round(retention.seenTtlMs)), retention.examplesPerBucket);

        // Split into chunks of whole groups (a huge group is split too: the seen-set keeps that exact). Each chunk
        // carries the numbers of the posts it references once; a post's groups (its topics) point at them.
        interface Chunk {
          postArgs: (string | number)[];
          postIndex: Map<Contribution, number>;
          groupArgs: (string | number)[];
          groups: number;
          members: number;
          groupIndexes: number[];
        }
        const calls: { args: (string | number)[]; groupIndexes: number[] }[] = [];
        const fresh = (): Chunk => ({ postArgs: [], postIndex: new Map(), groupArgs: [], groups: 0, members: 0, groupIndexes: [] });
        let current = fresh();
        const flush = (examples: (string | number)[] = [0]): void => {
          if (current.groups === 0 && examples.length === 1) return;
          calls.push({
            args: head.concat([current.postIndex.size], current.postArgs, [current.groups], current.groupArgs, examples),
            groupIndexes: current.groupIndexes,
          });
          current = fresh();
        };
        plan.groups.forEach((group, index) => {
          for (let offset = 0; offset < Math.max(1, group.posts.length); offset += POSTS_PER_CALL) {
            const slice = group.posts.slice(offset, offset + POSTS_PER_CALL);
            if (current.members + slice.length > POSTS_PER_CALL && current.groups > 0) flush();
            const chunk = current;
            chunk.groupArgs.push(group.topic, group.start, group.lastSeen, slice.length);
            for (const post of slice) {
              let at = chunk.postIndex.get(post);
              if (at === undefined) {
                at = chunk.postIndex.size + 1;
                chunk.postIndex.set(post, at);
                const m = post.micro;
                chunk.postArgs.push(post.postId, m[0] ?? 0, m[1] ?? 0, m[2] ?? 0, m[3] ?? 0, m[4] ?? 0, m[5] ?? 0, post.top, post.explicit ? 1 : 0);
              }
              chunk.groupArgs.push(at);
            }
            chunk.groups += 1;
            chunk.members += slice.length;
            chunk.groupIndexes.push(index);
          }
        });
        const exampleArgs: (string | number)[] = [plan.examples.length];
        for (const candidate of plan.examples) {
          exampleArgs.push(WINDOW_SIZES.indexOf(candidate.size) + 1, candidate.topic, candidate.start, candidate.emotion, candidate.score, candidate.post.postId, JSON.stringify(candidate.post));
        }
        flush(exampleArgs);

        const added = new Array<number>(plan.groups.length).fill(0);
        const results = await Promise.all(calls.map((call) => evalApply(call.args)));
        results.forEach((result, callIndex) => {
          const indexes = calls[callIndex]!.groupIndexes;
          result.forEach((count, position) => {
            const groupIndex = indexes[position]!;
            added[groupIndex] = (added[groupIndex] ?? 0) + Number(count);
          });
        });
        return { added };
      });
    },

    readBuckets(ns, refs) {
      return wrap('read', async () => {
        if (refs.length === 0) return [];
        const pipeline = redis.pipeline();
        for (const ref of refs) pipeline.hgetall(bucketKey(ns, ref));
        const results = (await pipeline.exec()) ?? [];
        return results.map(([error, fields]): BucketStats | null => {
          if (error) throw error;
          const record = fields as Record<string, string>;
          return Object.keys(record).length === 0 ? null : statsFromFields(record);
        });
      });
    },

    examples(ns, ref, emotion, limit) {
      return wrap('examples', async () => {
        const emotions = emotion === null ? EMOTIONS.map((_, i) => i) : [emotion];
        const pipeline = redis.pipeline();
        for (const e of emotions) {
          pipeline.zrange(exampleKey(ns, ref, e), 0, limit - 1, 'REV', 'WITHSCORES');
          pipeline.hgetall(`${exampleKey(ns, ref, e)}:body`);
        }
        const results = (await pipeline.exec()) ?? [];
        const found = new Map<string, { score: number; post: ExamplePost }>();
        for (let k = 0; k < emotions.length; k++) {
          const [rangeError, range] = results[2 * k] ?? [null, []];
          const [bodyError, bodies] = results[2 * k + 1] ?? [null, {}];
          if (rangeError) throw rangeError;
          if (bodyError) throw bodyError;
          const members = range as string[];
          for (let j = 0; j + 1 < members.length; j += 2) {
            const id = members[j]!;
            const score = Number(members[j + 1]);
            const body = (bodies as Record<string, string>)[id];
            if (body === undefined) continue;
            const previous = found.get(id);
            if (previous === undefined || score > previous.score) found.set(id, { score, post: ExamplePostSchema.parse(JSON.parse(body)) });
          }
        }
        return [...found.entries()]
          .sort(([idA, a], [idB, b]) => b.score - a.score || (idA < idB ? -1 : idA > idB ? 1 : 0))
          .slice(0, limit)
          .map(([, entry]) => entry.post);
      });
    },

    topics(ns) {
      return wrap('topics', async () => {
        const flat = await redis.zrange(`${nsPrefix(ns)}:topics`, 0, -1, 'REV', 'WITHSCORES');
        const list: { topic: string; lastSeen: number }[] = [];
        for (let j = 0; j + 1 < flat.length; j += 2) list.push({ topic: flat[j]!, lastSeen: Number(flat[j + 1]) });
        return list.sort((a, b) => b.lastSeen - a.lastSeen || (a.topic < b.topic ? -1 : 1));
      });
    },

    saveAlert(alert, ttlMs) {
      return wrap('saveAlert', async () => {
        const ttl = Math.max(1, Math.round(ttlMs));
        const stored = await redis.set(alertKey(alert.id), JSON.stringify(alert), 'PX', ttl, 'NX');
        if (stored === null) return false;
        const ns = namespaceOfAlert(alert);
        await redis
          .multi()
          .zadd(alertIndex(ns), alert.firedAt, alert.id)
          .pexpire(alertIndex(ns), ttl)
          .zadd(alertIndex(ns, alert.topic), alert.firedAt, alert.id)
          .pexpire(alertIndex(ns, alert.topic), ttl)
          .exec();
        return true;
      });
    },

    listAlerts(ns, options) {
      return wrap('listAlerts', async () => {
        const ids = await redis.zrange(alertIndex(ns, options.topic), '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, options.limit * 2);
        if (ids.length === 0) return [];
        const bodies = await redis.mget(ids.map(alertKey));
        const list = bodies.map(parseAlert).filter((a): a is Alert => a !== null);
        return list.sort((a, b) => b.firedAt - a.firedAt || (a.id < b.id ? -1 : 1)).slice(0, options.limit);
      });
    },

    getAlert(id) {
      return wrap('getAlert', async () => parseAlert(await redis.get(alertKey(id))));
    },

    acknowledgeAlert(id) {
      return wrap('acknowledgeAlert', async () => {
        const alert = parseAlert(await redis.get(alertKey(id)));
        if (alert === null) return null;
        const acknowledged = { ...alert, acknowledged: true };
        await redis.set(alertKey(id), JSON.stringify(acknowledged), 'KEEPTTL', 'XX');
        return acknowledged;
      });
    },

    getState(ns, name) {
      return wrap('getState', () => redis.get(`${nsPrefix(ns)}:state:${name}`));
    },

    setState(ns, name, value, ttlMs) {
      return wrap('setState', async () => {
        await redis.set(`${nsPrefix(ns)}:state:${name}`, value, 'PX', Math.max(1, Math.round(ttlMs)));
      });
    },

    dropNamespace(ns) {
      return wrap('dropNamespace', async () => {
        const alertIds = await redis.zrange(alertIndex(ns), 0, -1);
        if (alertIds.length > 0) await redis.unlink(...alertIds.map(alertKey));
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${globEscape(nsPrefix(ns))}:*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.unlink(...keys);
        } while (cursor !== '0');
      });
    },
  };
}
