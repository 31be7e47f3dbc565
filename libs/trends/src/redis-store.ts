import type { Cluster, Redis } from 'ioredis';
import { MoodstreamError } from '@moodstream/core';
import { AlertSchema, EMOTION_COUNT, EMOTIONS, WINDOW_MS, type Alert } from '@moodstream/events';
import { ExamplePostSchema, type ExamplePost } from './api-types';
import { microSquare, statsFromFields, type BucketStats, type Contribution } from './bucket';
import { namespaceOfAlert, type ApplyResult, type BucketRef, type TrendsStore } from './store';
import { WINDOW_SIZES } from './windows';
import { createRedisWordShiftStore } from './word-shift-redis';
import { globEscape, RedisStoreError } from './redis-errors';
import { LUA_UNPACK_NAMES, packNames } from './redis-packed';

export { RedisStoreError };

/**
 * The script below keeps one Lua local per emotion (p1..p6, q1..q6: locals are what makes the per-post loop fast),
 * so it is written for exactly six emotions; this line stops the type check if EMOTIONS ever changes length.
 */
const SCRIPT_EMOTIONS: 6 = EMOTION_COUNT;

/**
 * Key layout and Redis Cluster: every key that belongs to one topic of one namespace carries the hash tag
 * `{<prefix>:<ns>:<topic>}` (buckets, seen-sets, examples — and other areas' per-topic keys, e.g. word-shift), so one
 * script call per topic stays in one slot. Namespace-wide keys (topics index, engine state, alert indexes) carry
 * `{<prefix>:<ns>}`; alert bodies `{<prefix>}` (getAlert knows only the id; MGET of a list stays in one slot).
 * Build keys with `topicTag` / `namespaceTag` below. The same layout runs on one node and on a cluster.
 */
export const topicTag = (prefix: string, ns: string, topic: string): string => `{${prefix}:${ns}:${topic}}`;
export const namespaceTag = (prefix: string, ns: string): string => `{${prefix}:${ns}}`;

/**
 * One script call per topic and chunk of a batch (all its keys share the topic's hash tag, KEYS[1]). The caller sends
 * each 1-minute bucket group of the topic pre-aggregated: its post ids packed in one argument and the sums of its posts
 * (explicit count, Σp, Σp², top counts) in another, so the script's work per post is its id only. For each group the
 * seen-set is asked which ids it knows (SMISMEMBER): none → the ids are added (one variadic SADD) and the sums merged
 * per target bucket (1 m and every roll-up), written with one HINCRBY per field; all → a redelivery, nothing to add;
 * some → the group is left untouched (-1) and the caller sends its posts again one post per group. Dedupe and
 * increments share one atomic script, so a redelivered batch adds nothing — even if a first attempt died half-way,
 * each call is all-or-nothing.
 *
 * Sent through ioredis `defineCommand` (EVALSHA, and EVAL once per connection when Redis lacks the script).
 *
 * KEYS[1]: the topic's tag, the prefix of every key the call touches.
 * ARGV: sizeCount, (name, ms, ttlMs) × sizeCount, seenTtlMs, keepExamples,
 *       groupCount, (start, ids (packNames: a MessagePack array of strings), sums) × groupCount
 *       where sums is `explicit,p0..p5,q0..q5,t0..t5,` (micro-units; q: Σ of microSquare per post),
 *       exampleCount, bodies (the JSON of each distinct example post, packed like the ids),
 *       (sizeIndex, start, emotion, score, id, bodyIndex) × exampleCount — a post that is a candidate for several
 *       emotions and window sizes is serialised and sent once per call, not once per candidate
 * Returns per group: the posts it added, 0 for a group already counted, -1 for a group left untouched.
 */
const APPLY_SCRIPT = `${LUA_UNPACK_NAMES}
local E = ${SCRIPT_EMOTIONS}
local tag = KEYS[1]
local nsizes = tonumber(ARGV[1])
local names, sizes, ttls = {}, {}, {}
local i = 2
for s = 1, nsizes do
  names[s] = ARGV[i]; sizes[s] = tonumber(ARGV[i + 1]); ttls[s] = ARGV[i + 2]; i = i + 3
end
local seenTtl = ARGV[i]
local keep = tonumber(ARGV[i + 1])
local ngroups = tonumber(ARGV[i + 2])
i = i + 3
local added = {}
local deltas, order = {}, {}
for g = 1, ngroups do
  local start, idText, sumText = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  i = i + 3
  local ids = unpackNames(idText)
  local n = #ids
  local seenKey = tag .. ':s:' .. start
  -- One SMISMEMBER and one variadic SADD per 4000 ids (under Lua's unpack limit) instead of a call per post.
  local known = 0
  for c = 1, n, 4000 do
    local flags = redis.call('SMISMEMBER', seenKey, unpack(ids, c, math.min(n, c + 3999)))
    for m = 1, #flags do known = known + flags[m] end
  end
  if n > 0 and known == 0 then
    for c = 1, n, 4000 do redis.call('SADD', seenKey, unpack(ids, c, math.min(n, c + 3999))) end
    local v, k = {}, 0
    for text in string.gmatch(sumText, '([^,]*),') do k = k + 1; v[k] = tonumber(text) end
    local startNum = tonumber(start)
    for s = 1, nsizes do
      local key = tag .. ':b:' .. names[s] .. ':' .. string.format('%.0f', math.floor(startNum / sizes[s]) * sizes[s])
      local d = deltas[key]
      if d == nil then
        d = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, s}
        deltas[key] = d
        order[#order + 1] = key
      end
      d[1] = d[1] + n
      for f = 1, 19 do d[1 + f] = d[1 + f] + v[f] end
    end
    added[g] = n
  elseif known == n then
    added[g] = 0
  else
    added[g] = -1
  end
  if n > 0 then redis.call('PEXPIRE', seenKey, seenTtl) end
end
local fields = {'n', 'x', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'q0', 'q1', 'q2', 'q3', 'q4', 'q5', 't0', 't1', 't2', 't3', 't4', 't5'}
for _, key in ipairs(order) do
  local d = deltas[key]
  for f = 1, 20 do
    if d[f] ~= 0 then redis.call('HINCRBY', key, fields[f], string.format('%.0f', d[f])) end
  end
  redis.call('PEXPIRE', key, ttls[d[21]])
end
local nex = tonumber(ARGV[i])
local bodies = {}
if nex > 0 then bodies = unpackNames(ARGV[i + 1]) end
i = i + 2
-- A bucket's candidates come together (up to keep per emotion): its keys' TTLs are set once per call, after them.
local expiring, expiringOrder = {}, {}
for k = 1, nex do
  local s, start, emotion, score, id, body = tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], bodies[tonumber(ARGV[i + 5])]
  i = i + 6
  local zkey = tag .. ':e:' .. names[s] .. ':' .. start .. ':' .. emotion
  local hkey = zkey .. ':body'
  if redis.call('ZADD', zkey, score, id) == 1 then
    -- The body is stored only if the candidate stays among the best: most offered to a full bucket are popped at once.
    local stays = true
    local over = redis.call('ZCARD', zkey) - keep
    if over > 0 then
      local popped = redis.call('ZPOPMIN', zkey, over)
      for j = 1, #popped, 2 do
        if popped[j] == id then stays = false else redis.call('HDEL', hkey, popped[j]) end
      end
    end
    if stays then redis.call('HSET', hkey, id, body) end
  end
  if expiring[zkey] == nil then
    expiring[zkey] = ttls[s]
    expiringOrder[#expiringOrder + 1] = zkey
  end
end
for _, zkey in ipairs(expiringOrder) do
  redis.call('PEXPIRE', zkey, expiring[zkey])
  redis.call('PEXPIRE', zkey .. ':body', expiring[zkey])
end
return added
`;

/**
 * Posts per script call: big enough to amortise the round trip and to send a (topic, minute) group whole — a group
 * split over two calls pays its seen-set checks, sums and example candidates twice; a live call now carries a whole
 * fetch of three partitions (~9,000 posts, "all" topic included) — and small enough not to stall Redis for long
 * (a few tens of ms).
 */
const POSTS_PER_CALL = 4_000;

/** The name the apply script is defined under on the client (ioredis `defineCommand`). */
const APPLY_COMMAND = 'moodstreamTrendsApply3';

/** One Redis node or a Redis Cluster (ioredis): the store works on both. */
export type TrendsRedis = Redis | Cluster;

/** The client once the apply script is defined on it. */
type ScriptedRedis = TrendsRedis & { [APPLY_COMMAND]: (tag: string, args: (string | number | Buffer)[]) => Promise<number[]> };

/**
 * Defines the apply script on the client (once per client: the dashboard shares its client). ioredis sends it as
 * EVALSHA and falls back to EVAL when Redis answers NOSCRIPT (a restart, SCRIPT FLUSH); its one key routes the call
 * to the topic's slot on a cluster.
 */
function withApplyScript(redis: TrendsRedis): ScriptedRedis {
  if (!(APPLY_COMMAND in redis)) redis.defineCommand(APPLY_COMMAND, { numberOfKeys: 1, lua: APPLY_SCRIPT });
  return redis as ScriptedRedis;
}


/**
 * Runs commands on each key's node: a pipeline on one node (one round trip); on a cluster the commands go out
 * together (ioredis writes them without waiting) and each finds its slot's node.
 */
async function perKey<T>(redis: TrendsRedis, keys: readonly string[], command: (client: Redis | ReturnType<Redis['pipeline']>, key: string) => unknown): Promise<T[]> {
  if (keys.length === 0) return [];
  if (redis.isCluster) {
    return Promise.all(keys.map((key) => command(redis as unknown as Redis, key) as Promise<T>));
  }
  const pipeline = (redis as Redis).pipeline();
  for (const key of keys) command(pipeline, key);
  const results = (await pipeline.exec()) ?? [];
  return results.map(([error, value]) => {
    if (error) throw error;
    return value as T;
  });
}

/** Part of a plan group (a big group is split over calls: the seen-set keeps that exact), and the group it came from. */
interface Part {
  index: number;
  start: number;
  posts: readonly Contribution[];
}

/** One script call: one topic's parts, at most POSTS_PER_CALL posts, and example candidates. */
interface Call {
  tag: string;
  parts: Part[];
  posts: number;
  examples: (string | number)[];
  exampleCount: number;
  /** The examples' post bodies (JSON), each post once, and its 1-based index there. */
  bodies: string[];
  bodyIndex: Map<string, number>;
}

/** `explicit,Σp0..Σp5,Σq0..Σq5,t0..t5,` of some posts: what the script adds to each of their buckets. */
function sumsOf(posts: readonly Contribution[]): string {
  let x = 0;
  const p = [0, 0, 0, 0, 0, 0];
  const q = [0, 0, 0, 0, 0, 0];
  const t = [0, 0, 0, 0, 0, 0];
  for (const post of posts) {
    if (post.explicit) x += 1;
    const m = post.micro;
    for (let e = 0; e < SCRIPT_EMOTIONS; e++) {
      const v = m[e] ?? 0;
      p[e] = p[e]! + v;
      q[e] = q[e]! + microSquare(v);
    }
    t[post.top] = (t[post.top] ?? 0) + 1;
  }
  return `${x},${p.join(',')},${q.join(',')},${t.join(',')},`;
}

/**
 * The distributed-mode store, on one Redis node or a cluster. Per topic under `{prefix:ns:topic}`: `b:{size}:{start}`
 * bucket hashes, `s:{start}` seen post ids per 1 m bucket, `e:{size}:{start}:{emotion}` example zsets (+ `:body`
 * hashes). Per namespace under `{prefix:ns}`: `topics` zset (score: newest post), `state:{name}`, `alerts` /
 * `alerts:{topic}` zsets. Alert bodies at `{prefix}:alert:{id}`.
 */
export function createRedisTrendsStore(redis: TrendsRedis, options: { prefix?: string } = {}): TrendsStore {
  const base = options.prefix ?? 'moodstream:trends';
  const nsTag = (ns: string): string => namespaceTag(base, ns);
  const tagOf = (ns: string, topic: string): string => topicTag(base, ns, topic);
  const bucketKey = (ns: string, ref: BucketRef): string => `${tagOf(ns, ref.topic)}:b:${ref.size}:${ref.start}`;
  const exampleKey = (ns: string, ref: BucketRef, emotion: number): string => `${tagOf(ns, ref.topic)}:e:${ref.size}:${ref.start}:${emotion}`;
  const alertKey = (id: string): string => `{${base}}:alert:${id}`;
  const alertIndex = (ns: string, topic?: string): string => (topic === undefined ? `${nsTag(ns)}:alerts` : `${nsTag(ns)}:alerts:${topic}`);
  const topicsKey = (ns: string): string => `${nsTag(ns)}:topics`;
  const scripted = withApplyScript(redis);

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof MoodstreamError) throw error;
      throw new RedisStoreError(`redis ${what} failed: ${(error as Error).message}`, error);
    }
  };

  const parseAlert = (json: string | null): Alert | null => (json === null ? null : AlertSchema.parse(JSON.parse(json)));

  /** Every node that holds keys (the masters of a cluster), for SCAN. */
  const scanNodes = (): Redis[] => (redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis]);

  return {
    kind: 'redis',
    wordShift: createRedisWordShiftStore(redis, { prefix: base }),

    apply(ns, plan, retention) {
      return wrap('apply', async (): Promise<ApplyResult> => {
        const head: (string | number | Buffer)[] = [WINDOW_SIZES.length];
        for (const size of WINDOW_SIZES) head.push(size, WINDOW_MS[size], Math.max(1, Math.round(retention.bucketTtlMs[size])));
        head.push(Math.max(1, Math.round(retention.seenTtlMs)), retention.examplesPerBucket);

        // Per topic, calls of at most POSTS_PER_CALL posts (a huge group is split too: the seen-set keeps that exact).
        const byTopic = new Map<string, Call[]>();
        const callFor = (topic: string, room: number): Call => {
          let calls = byTopic.get(topic);
          if (calls === undefined) {
            calls = [];
            byTopic.set(topic, calls);
          }
          let call = calls[calls.length - 1];
          if (call === undefined || (call.posts + room > POSTS_PER_CALL && call.parts.length > 0)) {
            call = { tag: tagOf(ns, topic), parts: [], posts: 0, examples: [], exampleCount: 0, bodies: [], bodyIndex: new Map() };
            calls.push(call);
          }
          return call;
        };
        const newest = new Map<string, number>();
        plan.groups.forEach((group, index) => {
          if (group.lastSeen > (newest.get(group.topic) ?? -Infinity)) newest.set(group.topic, group.lastSeen);
          for (let offset = 0; offset < group.posts.length; offset += POSTS_PER_CALL) {
            const posts = group.posts.length <= POSTS_PER_CALL ? group.posts : group.posts.slice(offset, offset + POSTS_PER_CALL);
            const call = callFor(group.topic, posts.length);
            call.parts.push({ index, start: group.start, posts });
            call.posts += posts.length;
          }
        });
        for (const candidate of plan.examples) {
          const calls = byTopic.get(candidate.topic);
          const call = calls?.[calls.length - 1] ?? callFor(candidate.topic, 0);
          const id = candidate.post.postId;
          let body = call.bodyIndex.get(id);
          if (body === undefined) {
            body = call.bodies.length + 1;
            call.bodyIndex.set(id, body);
            call.bodies.push(JSON.stringify(candidate.post));
          }
          call.examples.push(WINDOW_SIZES.indexOf(candidate.size) + 1, candidate.start, candidate.emotion, candidate.score, id, body);
          call.exampleCount += 1;
        }

        const added = new Array<number>(plan.groups.length).fill(0);
        /** Sends the calls; returns the parts the script left untouched (their seen-set knew some of their posts only). */
        const send = async (calls: readonly Call[]): Promise<Part[]> => {
          const results = await Promise.all(
            calls.map((call) => {
              const args = head.concat([call.parts.length]);
              for (const part of call.parts) args.push(part.start, packNames(part.posts.map((post) => post.postId)), sumsOf(part.posts));
              args.push(call.exampleCount, packNames(call.bodies));
              return scripted[APPLY_COMMAND](call.tag, args.concat(call.examples));
            }),
          );
          const untouched: Part[] = [];
          results.forEach((result, c) => {
            const parts = calls[c]!.parts;
            result.forEach((count, position) => {
              const part = parts[position]!;
              if (Number(count) < 0) untouched.push(part);
              else added[part.index] = (added[part.index] ?? 0) + Number(count);
            });
          });
          return untouched;
        };
        const partial = await send([...byTopic.values()].flat());
        if (partial.length > 0) {
          // Partly counted before (a redelivery cut at other offsets): one post per group, each all-new or all-known.
          const single = new Map<string, Call>();
          const calls: Call[] = [];
          for (const part of partial) {
            const topic = plan.groups[part.index]!.topic;
            for (const post of part.posts) {
              let call = single.get(topic);
              if (call === undefined || call.posts >= POSTS_PER_CALL) {
                call = { tag: tagOf(ns, topic), parts: [], posts: 0, examples: [], exampleCount: 0, bodies: [], bodyIndex: new Map() };
                single.set(topic, call);
                calls.push(call);
              }
              call.parts.push({ index: part.index, start: part.start, posts: [post] });
              call.posts += 1;
            }
          }
          const left = await send(calls);
          if (left.length > 0) throw new RedisStoreError(`redis apply left ${left.length} single-post group(s) untouched`, null);
        }
        // The topic index is one key of the namespace's slot: one ZADD GT (a redelivery changes nothing) per batch,
        // after the counts, so a listed topic always has its posts counted.
        if (newest.size > 0) {
          const flat: (string | number)[] = [];
          for (const [topic, lastSeen] of newest) flat.push(lastSeen, topic);
          await redis
            .multi()
            .zadd(topicsKey(ns), 'GT', ...flat)
            .pexpire(topicsKey(ns), Math.max(1, Math.round(retention.bucketTtlMs[WINDOW_SIZES[WINDOW_SIZES.length - 1]!])))
            .exec();
        }
        return { added };
      });
    },

    readBuckets(ns, refs) {
      return wrap('read', async () => {
        const results = await perKey<Record<string, string>>(
          redis,
          refs.map((ref) => bucketKey(ns, ref)),
          (client, key) => client.hgetall(key),
        );
        return results.map((record): BucketStats | null => (Object.keys(record).length === 0 ? null : statsFromFields(record)));
      });
    },

    examples(ns, ref, emotion, limit) {
      return wrap('examples', async () => {
        const emotions = emotion === null ? EMOTIONS.map((_, i) => i) : [emotion];
        // All of one topic's keys share a slot: one pipeline on a cluster too.
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
        const flat = await redis.zrange(topicsKey(ns), 0, -1, 'REV', 'WITHSCORES');
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
        // Both indexes carry the namespace's tag: one slot, one MULTI.
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
      return wrap('getState', () => redis.get(`${nsTag(ns)}:state:${name}`));
    },

    setState(ns, name, value, ttlMs) {
      return wrap('setState', async () => {
        await redis.set(`${nsTag(ns)}:state:${name}`, value, 'PX', Math.max(1, Math.round(ttlMs)));
      });
    },

    dropNamespace(ns) {
      return wrap('dropNamespace', async () => {
        const alertIds = await redis.zrange(alertIndex(ns), 0, -1);
        if (alertIds.length > 0) await redis.unlink(...alertIds.map(alertKey));
        // `{prefix:ns}…` and `{prefix:ns:<topic>}…`, on every node; deleted key by key (a cluster refuses
        // multi-key commands across slots).
        const pattern = `{${globEscape(`${base}:${ns}`)}[:}]*`;
        for (const node of scanNodes()) {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = next;
            if (keys.length === 0) continue;
            if (redis.isCluster) await Promise.all(keys.map((key) => node.unlink(key)));
            else await node.unlink(...keys);
          } while (cursor !== '0');
        }
      });
    },
  };
}
