import { argmaxEmotion, EMOTION_COUNT, EMOTIONS, normaliseTag, ScoredPostSchema, type ScoredPost } from '@moodstream/events';

/**
 * A fast path for the one hot record type at the bus edge, both ways: the trends aggregator reads every ScoredPost and
 * the scorer writes every one, and zod's generic walk costs about seven JSON.parses per record (the consume profile
 * in docs/benchmarks.md; on the scorer's main thread it was ~14 % of a text-only run). This function accepts a value
 * only when every rule of `ScoredPostSchema` surely holds, and then returns exactly what zod would (defaults applied,
 * unknown keys refused, fresh arrays and objects, keys in the schema's order, so `JSON.stringify` of either gives the
 * same bytes); anything else — a doubtful or a bad record — returns null and zod decides, with its error message. So
 * validation is not weakened: the schema in libs/events stays the rule, and test/fast-scored-post.test.ts checks
 * (fast-check) that whatever this accepts, zod accepts with an equal result, for parsed JSON and for objects built in
 * JavaScript (where an optional key may hold `undefined`, which zod treats as absent).
 */

/** The schema's keys as this file knows them; a schema with other keys turns the fast path off (zod only). */
const KNOWN_KEYS = [
  'postId',
  'topics',
  'timestamp',
  'probabilities',
  'topEmotion',
  'modality',
  'explicit',
  'imageError',
  'label',
  'modelVersion',
  'latencies',
  'scoredAt',
  'text',
  'imageUrl',
  'url',
] as const;
const KNOWN = new Set<string>(KNOWN_KEYS);
const REQUIRED = ['postId', 'topics', 'timestamp', 'probabilities', 'topEmotion', 'modality', 'explicit', 'modelVersion', 'latencies', 'scoredAt'] as const;
/** In the schema's order: the validated copy lists them so, as zod's does. */
const LATENCY_KEY_ORDER = ['queueMs', 'fetchMs', 'decodeMs', 'backboneMs', 'modelMs', 'totalMs'] as const;
const LATENCY_KEYS = new Set<string>(LATENCY_KEY_ORDER);
const MODALITIES = new Set(['text', 'image', 'both']);
const EMOTION_SET = new Set<string>(EMOTIONS);

/** The shape behind the superRefine; if libs/events adds or renames a field, this path steps aside. */
function schemaKeys(): string[] {
  const inner = (ScoredPostSchema as unknown as { innerType?: () => { shape?: Record<string, unknown> } }).innerType?.();
  return inner?.shape === undefined ? [] : Object.keys(inner.shape);
}
const keys = schemaKeys();
/**
 * Off when the schema's fields differ from the ones known here, or with MOODSTREAM_BUS_DECODE=schema (a diagnostic
 * switch: `npm run bench:trends` measures the zod-only edge with it, and it rules this path out when in doubt).
 */
export const FAST_SCORED_POST_ENABLED = keys.length === KNOWN_KEYS.length && keys.every((k) => KNOWN.has(k)) && process.env['MOODSTREAM_BUS_DECODE'] !== 'schema';

/** Topics repeat across millions of posts: remember the ones already found normalised (bounded). */
const normalTopics = new Set<string>();
const NORMAL_TOPICS_MAX = 10_000;

function isNormalTopic(topic: unknown): topic is string {
  if (typeof topic !== 'string' || topic.length < 1 || topic.length > 140) return false;
  if (normalTopics.has(topic)) return true;
  if (topic !== normaliseTag(topic)) return false;
  if (normalTopics.size >= NORMAL_TOPICS_MAX) normalTopics.clear();
  normalTopics.add(topic);
  return true;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isEpochMs = (value: unknown): value is number => isNumber(value) && Number.isInteger(value) && value >= 0;
const isBoundedString = (value: unknown, min: number, max: number): value is string => typeof value === 'string' && value.length >= min && value.length <= max;

/** zod's `.url()` is exactly `new URL(x)` not throwing. */
function isUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}

const nullableUrl = (value: unknown): value is string | null | undefined => value === undefined || value === null || (typeof value === 'string' && isUrl(value));

/** The validated ScoredPost (as zod would return it), or null when zod must decide. */
export function fastScoredPost(json: unknown): ScoredPost | null {
  if (!FAST_SCORED_POST_ENABLED || !isPlainObject(json)) return null;
  for (const key in json) if (!KNOWN.has(key)) return null;
  for (const key of REQUIRED) if (!(key in json)) return null;
  const { postId, topics, timestamp, probabilities, topEmotion, modality, explicit, imageError, label, modelVersion, latencies, scoredAt, text, imageUrl, url } = json;

  if (!isBoundedString(postId, 1, 64) || !isBoundedString(modelVersion, 1, 64)) return null;
  if (!isEpochMs(timestamp) || !isEpochMs(scoredAt)) return null;
  if (!Array.isArray(topics) || topics.length < 1 || topics.length > 64) return null;
  // Copies, as zod returns: the caller's arrays (and anything odd about them, a toJSON say) stay behind.
  const topicsCopy: string[] = [];
  for (const topic of topics as unknown[]) {
    if (!isNormalTopic(topic)) return null;
    topicsCopy.push(topic);
  }

  if (!Array.isArray(probabilities) || probabilities.length !== EMOTION_COUNT) return null;
  const p: number[] = [];
  for (const value of probabilities as unknown[]) {
    if (!isNumber(value) || value < 0 || value > 1) return null;
    p.push(value);
  }
  // The same sum, in the same order, as ProbabilitiesSchema's refine.
  if (!(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-3)) return null;
  if (typeof topEmotion !== 'string' || topEmotion !== argmaxEmotion(p)) return null;

  if (typeof modality !== 'string' || !MODALITIES.has(modality)) return null;
  if (explicit !== null && !(isNumber(explicit) && explicit >= 0 && explicit <= 1)) return null;
  if (imageError !== undefined && imageError !== null && !isBoundedString(imageError, 0, 200)) return null;
  if (label !== undefined && label !== null && !(typeof label === 'string' && EMOTION_SET.has(label))) return null;
  if (text !== undefined && !isBoundedString(text, 0, 2_000)) return null;
  if (!nullableUrl(imageUrl) || !nullableUrl(url)) return null;

  if (!isPlainObject(latencies)) return null;
  for (const key in latencies) {
    const ms = latencies[key];
    if (!LATENCY_KEYS.has(key) || !isNumber(ms) || ms < 0) return null;
  }
  const stages: Record<string, number> = {};
  for (const key of LATENCY_KEY_ORDER) if (key in latencies) stages[key] = latencies[key] as number;

  return {
    postId,
    topics: topicsCopy,
    timestamp,
    probabilities: p,
    topEmotion: topEmotion as ScoredPost['topEmotion'],
    modality: modality as ScoredPost['modality'],
    explicit: explicit as number | null,
    imageError: (imageError ?? null) as string | null,
    label: (label ?? null) as ScoredPost['label'],
    modelVersion,
    latencies: stages,
    scoredAt,
    text: (text ?? '') as string,
    imageUrl: (imageUrl ?? null) as string | null,
    url: (url ?? null) as string | null,
  };
}
